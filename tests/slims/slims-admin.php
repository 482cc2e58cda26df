<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Fixtures and staff actions for the shell tests, inside a real SLiMS
// installed by tests/slims/lib.sh (SLIMS_ROOT): SLiMS's own bootstrap
// (sysconfig.inc.php, its database settings, the active plugins loaded),
// then members, items and reservations as rows of SLiMS's tables (test
// data, as an import would make them), and the plugin's own staff
// functions (kiosks, routing, cards, staff, commands) as the staff page
// calls them. The browser test drives the pages themselves.
//
//   SLIMS_ROOT=... php slims-admin.php COMMAND ARGS...

$root = getenv('SLIMS_ROOT');
if (!$root || !is_file("$root/sysconfig.inc.php")) {
    fwrite(STDERR, "slims-admin.php: SLIMS_ROOT must name an installed SLiMS\n");
    exit(2);
}
define('INDEX_AUTH', '1');
$_SERVER['SERVER_NAME'] = $_SERVER['SERVER_NAME'] ?? '127.0.0.1';
$_SERVER['REMOTE_ADDR'] = $_SERVER['REMOTE_ADDR'] ?? '127.0.0.1';
chdir($root);
require "$root/sysconfig.inc.php";
// SLiMS's error handler turns warnings into pages; a CLI wants them said.
restore_error_handler();
restore_exception_handler();

if (!class_exists('Lokerbuku\\Slims\\Store')) {
    fwrite(STDERR, "slims-admin.php: the lokerbuku plugin is not active in this SLiMS\n");
    exit(1);
}
use Lokerbuku\Slims\Store;

$db = \SLiMS\DB::getInstance();
$db->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
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
case 'site-key-file':
    need($args, 1, 'site-key-file PATH');
    $store->config()->set('site_key_file', $args[0]);
    break;
case 'kiosk-add':
    // USER: the SLiMS user (user_id) its loans and returns are made by;
    // 1 is the administrator the installer made. PIN-REQUIRED: 1 (the
    // default, as on the staff page) or 0.
    need($args, 2, 'kiosk-add ID TOKEN-FILE [USER [PIN-REQUIRED]]');
    $token = $store->addKiosk($args[0], $args[0], (int) ($args[2] ?? 1), 7, ($args[3] ?? '1') !== '0');
    $old = umask(077);
    file_put_contents($args[1], $token . "\n");
    umask($old);
    break;
case 'member-add':
    // Member type 1 is the installer's "Standard" (7 days, 2 loans).
    need($args, 2, 'member-add ID NAME [EXPIRE [EMAIL [OPAC-PASSWORD]]]');
    $db->prepare('INSERT INTO member (member_id, member_name, gender, member_type_id, member_email,'
        . ' expire_date, member_since_date, register_date, is_pending, mpasswd, input_date, last_update)'
        . ' VALUES (?, ?, 1, 1, ?, ?, CURDATE(), CURDATE(), 0, ?, CURDATE(), CURDATE())')
        ->execute([$args[0], $args[1], $args[3] ?? null, $args[2] ?? '2099-12-31',
            isset($args[4]) ? password_hash($args[4], PASSWORD_BCRYPT) : null]);
    break;
case 'item-add':
    need($args, 2, 'item-add CODE TITLE');
    $db->prepare('INSERT INTO biblio (title, gmd_id, language_id, input_date, last_update)'
        . ' VALUES (?, 1, \'id\', NOW(), NOW())')->execute([$args[1]]);
    $biblio = (int) $db->lastInsertId();
    $db->prepare('INSERT INTO item (biblio_id, item_code, coll_type_id, location_id, item_status_id,'
        . ' input_date, last_update) VALUES (?, ?, 3, \'SL\', \'0\', NOW(), NOW())')
        ->execute([$biblio, $args[0]]);
    // The OPAC finds titles through SLiMS's search index, as its
    // bibliography form keeps it.
    require_once SIMBIO . 'simbio_DB/simbio_dbop.inc.php';
    require_once MDLBS . 'system/biblio_indexer.inc.php';
    (new biblio_indexer($dbs))->makeIndex($biblio);
    echo $biblio, "\n";
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
    // resend_events: the third argument is its from_seq.
    need($args, 2, 'command KIOSK TYPE [LOCKER | FROM-SEQ]');
    $resend = $args[1] === 'resend_events';
    echo $store->addCommand($args[0], $args[1], isset($args[2]) && !$resend ? (int) $args[2] : null, null, 'test',
        isset($args[2]) && $resend ? (int) $args[2] : null), "\n";
    break;
default:
    fwrite(STDERR, "slims-admin.php: unknown command '$cmd'\n");
    exit(2);
}
