<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Loads the classes of namespace Lokerbuku\Sync from src/ on first use.

spl_autoload_register(static function (string $class): void {
    $ns = 'Lokerbuku\\Sync\\';
    if (strncmp($class, $ns, strlen($ns)) !== 0) {
        return;
    }
    $name = substr($class, strlen($ns));
    if (preg_match('/^[A-Za-z][A-Za-z0-9]*$/', $name)) {
        $file = __DIR__ . '/src/' . $name . '.php';
        if (is_file($file)) {
            require_once $file;
        }
    }
});
