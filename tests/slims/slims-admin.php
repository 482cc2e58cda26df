<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// What staff would do in SLiMS, from a test's shell: make members, items
// and reservations in the SLiMS tables, and call the plugin's own staff
// functions (register kiosks, route reservations, enrol cards, staff,
// commands). Uses the stand-in's database connection (LOKERBUKU_SLIMS_DB_*).
//
//   php slims-admin.php COMMAND ARGS...

require __DIR__ . '/slims-standin/bootstrap.php';
standin_load_plugin();

use Lokerbuku\Slims\Store;

$db = \SLiMS\DB::getInstance();
$store = new Store($db);
$args = array_slice($argv, 1);
$cmd = array_shift($args);

function need(array $args, int $n, string $usage): void
{
    if (count($args) < $n) {
        fwrite(STDERR, "usage: slims-admin.php $usage\n");
        exit(2);
    }
}

switch ($cmd) {
case 'schema':   // FILE: the SLiMS tables, then the plugin's migration
    need($args, 1, 'schema SQL-FILE');
    foreach (array_filter(array_map('trim', explode(";\n",
        preg_replace('/^--.*$/m', '', file_get_contents($args[0]))))) as $sql) {
        $db->exec($sql);
    }
    $db->exec("INSERT INTO mst_member_type (member_type_id, member_type_name, loan_limit, loan_periode,"
        . " member_periode, reborrow_limit, fine_each_day, grace_periode, input_date)"
        . " VALUES (1, 'Umum', 5, 7, 365, 1, 500, 0, CURDATE())");
    echo 'migration ', standin_migrate($db), "\n";
    break;
case 'site-key-file':
    need($args, 1, 'site-key-file PATH');
    $store->config()->set('site_key_file', $args[0]);
    break;
case 'kiosk-add':
    need($args, 2, 'kiosk-add ID TOKEN-FILE');
    $token = $store->addKiosk($args[0], $args[0]);
    $old = umask(077);
    file_put_contents($args[1], $token . "\n");
    umask($old);
    break;
case 'member-add':
    need($args, 2, 'member-add ID NAME [EXPIRE [EMAIL]]');
    $db->prepare('INSERT INTO member (member_id, member_name, gender, member_type_id, member_email,'
        . ' expire_date, is_pending, register_date) VALUES (?, ?, 1, 1, ?, ?, 0, CURDATE())')
        ->execute([$args[0], $args[1], $args[3] ?? null, $args[2] ?? '2099-12-31']);
    break;
case 'item-add':
    need($args, 2, 'item-add CODE TITLE');
    $db->prepare('INSERT INTO biblio (title, gmd_id) VALUES (?, 0)')->execute([$args[1]]);
    $db->prepare('INSERT INTO item (biblio_id, item_code, input_date) VALUES (?, ?, NOW())')
        ->execute([(int) $db->lastInsertId(), $args[0]]);
    break;
case 'reserve':
    need($args, 2, 'reserve MEMBER ITEM');
    $st = $db->prepare('SELECT biblio_id FROM item WHERE item_code = ?');
    $st->execute([$args[1]]);
    $db->prepare('INSERT INTO reserve (member_id, biblio_id, item_code, reserve_date) VALUES (?, ?, ?, NOW())')
        ->execute([$args[0], (int) $st->fetchColumn(), $args[1]]);
    echo $db->lastInsertId(), "\n";
    break;
case 'route':
    need($args, 3, 'route KIOSK SIZE RESERVE-ID...');
    echo $store->routeReservations(array_slice($args, 2), $args[0], $args[1]), "\n";
    break;
case 'cancel':
    need($args, 1, 'cancel HOLD');
    $store->cancelHold($args[0]);
    break;
case 'enrol':
    need($args, 2, 'enrol MEMBER UID-HEX');
    echo $store->enrolCard($args[0], $args[1]), "\n";
    break;
case 'staff-add':
    need($args, 2, 'staff-add CREDENTIAL PIN');
    echo $store->setStaff($args[0], $args[1]), "\n";
    break;
case 'command':
    need($args, 2, 'command KIOSK TYPE [LOCKER]');
    echo $store->addCommand($args[0], $args[1], isset($args[2]) ? (int) $args[2] : null, null, 'test'), "\n";
    break;
default:
    fwrite(STDERR, "slims-admin.php: unknown command '$cmd'\n");
    exit(2);
}
