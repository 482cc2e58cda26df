<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Loads the plugin's classes (Lokerbuku\Slims, src/) and the shared sync
// server (Lokerbuku\Sync): bundled as common/ in the installable folder
// (tools/package-integrations), else integrations/common of a checkout.

(static function (): void {
    foreach ([__DIR__ . '/common', dirname(__DIR__, 2) . '/common'] as $common) {
        if (is_file($common . '/autoload.php')) {
            require_once $common . '/autoload.php';
            break;
        }
    }
    spl_autoload_register(static function (string $class): void {
        $ns = 'Lokerbuku\\Slims\\';
        if (strncmp($class, $ns, strlen($ns)) === 0 && preg_match('/^[A-Za-z][A-Za-z0-9]*$/', $name = substr($class, strlen($ns)))
            && is_file($file = __DIR__ . '/src/' . $name . '.php')) {
            require_once $file;
        }
    });
})();
if (!interface_exists('Lokerbuku\\Sync\\LibrarySystem')) {
    throw new \RuntimeException('lokerbuku: the folder common/ is missing: install the plugin folder as'
        . ' tools/package-integrations assembles it');
}
