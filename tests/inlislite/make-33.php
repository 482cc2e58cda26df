<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The 3.3-shaped INLISLite schema from the real 3.2 one (stdin to stdout),
// by exactly the differences ../shared/reference/inlislite.md (section 1)
// lists between a 3.2 and a 3.3 database: no foreign keys; Branch_id and
// active on every table; members.ID int with IsKeranjang and
// IsOnlineActive; collections.ID int unsigned and Catalog_id int with
// ISDRM, NomorBarcodeBMN, IsQUARANTINE; collectionloans.ID bigint
// AUTO_INCREMENT and Member_id int; collectionloanitems ID, Collection_id,
// member_id int and CollectionLoan_id bigint; 3.x's `users` replaced by
// myth/auth's accounts (auth-33.sql: `users`, `auth_groups`,
// `auth_groups_users`, `auth_permissions`), which 3.3's staff sign in
// with. The other new tables (c_*, t_*) are not made: the facts file has
// no DDL of them and nothing of the bridge reads them. Done on the text,
// before loading: altering 185 loaded tables takes a loaded machine minutes.

$types = [
    'members' => ['ID' => '`ID` int(11) NOT NULL AUTO_INCREMENT'],
    'collections' => ['ID' => '`ID` int(10) unsigned NOT NULL AUTO_INCREMENT', 'Catalog_id' => '`Catalog_id` int(11) DEFAULT NULL'],
    'collectionloans' => ['ID' => '`ID` bigint(20) NOT NULL AUTO_INCREMENT', 'Member_id' => '`Member_id` int(11) NOT NULL'],
    'collectionloanitems' => ['ID' => '`ID` int(11) NOT NULL AUTO_INCREMENT',
        'CollectionLoan_id' => '`CollectionLoan_id` bigint(20) NOT NULL',
        'Collection_id' => '`Collection_id` int(11) NOT NULL', 'member_id' => '`member_id` int(11) NOT NULL'],
];
$added = [
    'members' => ['`IsKeranjang` int(11) NOT NULL DEFAULT 0', '`IsOnlineActive` int(11) DEFAULT 0'],
    'collections' => ['`ISDRM` int(11) NOT NULL DEFAULT 0', '`NomorBarcodeBMN` varchar(50) DEFAULT NULL',
        '`IsQUARANTINE` int(11) DEFAULT 0'],
];

$table = null;
$cols = $keys = [];
$tables = 0;
while (($line = fgets(STDIN)) !== false) {
    if ($table === null) {
        if (preg_match('/^CREATE TABLE `([^`]+)` \($/', rtrim($line), $m)) {
            $table = $m[1];
            $cols = $keys = [];
            if ($table !== 'users') {
                echo $line;
            }
        } else {
            echo $line;
        }
        continue;
    }
    $t = rtrim($line, "\r\n");
    if (str_starts_with($t, ')') && $table === 'users') {
        // 3.x's staff accounts give way to 3.3's (myth/auth).
        $auth = file_get_contents(__DIR__ . '/auth-33.sql');
        echo preg_replace('/^--.*\n/m', '', $auth);
        $table = null;
        $tables++;
        continue;
    }
    if (str_starts_with($t, ')')) {
        // The end of the table: its columns, 3.3's, then its keys.
        $names = array_map(fn($c) => preg_match('/^`([^`]+)`/', $c, $m) ? $m[1] : '', $cols);
        foreach ($added[$table] ?? [] as $c) {
            $cols[] = $c;
        }
        if (!in_array('Branch_id', $names, true)) {
            $cols[] = '`Branch_id` int(11) DEFAULT NULL';
        }
        if (!in_array('active', $names, true)) {
            $cols[] = '`active` int(11) DEFAULT 1';
        }
        echo '  ' . implode(",\n  ", array_merge($cols, $keys)) . "\n" . $line;
        $table = null;
        $tables++;
        continue;
    }
    $t = rtrim(trim($t), ',');
    if (str_starts_with($t, 'CONSTRAINT ') && str_contains($t, ' FOREIGN KEY ')) {
        continue;
    }
    if (preg_match('/^`([^`]+)` /', $t, $m)) {
        $cols[] = $types[$table][$m[1]] ?? $t;
    } else {
        $keys[] = $t;
    }
}
if ($table !== null || $tables < 100) {
    fwrite(STDERR, "make-33.php: the input is not INLISLite's schema dump ($tables tables)\n");
    exit(1);
}
