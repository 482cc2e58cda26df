<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Loads the bridge's classes for the staff-side tests; staff-phpunit.sh
// has started a MariaDB with INLISLite's schema.

spl_autoload_register(static function (string $class): void {
    $prefix = 'Lokerbuku\\Inlislite\\';
    if (str_starts_with($class, $prefix)) {
        $f = __DIR__ . '/../../../integrations/inlislite/src/' . substr($class, strlen($prefix)) . '.php';
        if (is_file($f)) {
            require $f;
        }
    }
});
require __DIR__ . '/../../../integrations/common/autoload.php';
require __DIR__ . '/InlTestCase.php';
