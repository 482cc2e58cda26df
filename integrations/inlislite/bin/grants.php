<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Prints the GRANT statements the bridge's MySQL account needs, for the
// database administrator to run (README, "MySQL account"):
//
//   php bin/grants.php --database inlislite_v3 --user "'lokerbuku'@'localhost'" [--version 3.2] | mysql -u root -p
//
// Reading INLISLite's tables; changing rows only where INLISLite's own
// circulation does (loans, returns, the item's status and booking, the
// booking log), adding its audit rows to `modelhistory` (3.0-3.2 only)
// and SMS to Gammu's outbox; every right on the
// bridge's own tables. Never a right to alter or drop INLISLite's tables.

require dirname(__DIR__) . '/src/Bridge.php';

use Lokerbuku\Inlislite\Bridge;
use Lokerbuku\Inlislite\Version;

if (PHP_SAPI !== 'cli') {
    exit(1);
}
$opts = getopt('', ['database:', 'user:', 'version:']);
$db = $opts['database'] ?? 'inlislite_v3';
$user = $opts['user'] ?? "'lokerbuku'@'localhost'";
if (!preg_match('/^[A-Za-z0-9_$]{1,64}$/', $db) || !preg_match("/^'[^'\\\\]{1,80}'@'[^'\\\\]{1,255}'$/", $user)) {
    fwrite(STDERR, "usage: php bin/grants.php --database NAME --user \"'name'@'host'\" [--version 3.2]\n");
    exit(2);
}
Bridge::autoload();
try {
    $version = Version::of((string) ($opts['version'] ?? '3.2'));
} catch (\InvalidArgumentException $ex) {
    fwrite(STDERR, 'grants.php: ' . $ex->getMessage() . "\n");
    exit(2);
}
$writes = [
    'collectionloans' => 'INSERT, UPDATE',
    'collectionloanitems' => 'INSERT, UPDATE',
    'collections' => 'UPDATE',
    'bookinglogs' => 'UPDATE',
    'outbox' => 'INSERT',
];
if ($version->writesModelHistory()) {
    $writes['modelhistory'] = 'INSERT';
}
echo "GRANT SELECT ON `$db`.* TO $user;\n";
foreach ($writes as $table => $rights) {
    echo "GRANT $rights ON `$db`.`$table` TO $user;\n";
}
foreach (Bridge::allTables() as $table) {
    echo "GRANT ALL PRIVILEGES ON `$db`.`$table` TO $user;\n";
}
