<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Makes (or brings up to date) the bridge's own tables, by the bridge's
// own MySQL account from config.php. Run once after install and after
// each upgrade: php bin/install.php

require dirname(__DIR__) . '/src/Bridge.php';

use Lokerbuku\Inlislite\Bridge;

if (PHP_SAPI !== 'cli') {
    exit(1);
}
try {
    $bridge = Bridge::fromConfig();
    $bridge->install();
    $n = count(Bridge::allTables());
    echo "lokerbuku: $n tables ready in INLISLite's database (INLISLite {$bridge->version()->name()})\n";
} catch (\Throwable $ex) {
    fwrite(STDERR, 'lokerbuku: ' . $ex->getMessage() . "\n");
    exit(1);
}
