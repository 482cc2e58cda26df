<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Staff actions on an installed bridge for the shell tests, as the staff
// pages make them (through the shared Store): kiosks, routing items to a
// kiosk, cards, kiosk PINs, kiosk staff and remote commands. (Staff check
// in a kiosk's returns on the staff page itself: kiosk-story.sh.)
//
//   INL_CONFIG=.../config.php php inl-admin.php COMMAND ARGS...

$config = getenv('INL_CONFIG');
if (!$config || !is_file($config)) {
    fwrite(STDERR, "inl-admin.php: INL_CONFIG must name the bridge's config.php\n");
    exit(2);
}
require dirname($config) . '/src/Bridge.php';

use Lokerbuku\Inlislite\Bridge;

$bridge = Bridge::fromConfig($config);
$store = $bridge->store();
$args = array_slice($argv, 1);
$cmd = array_shift($args);

function need(array $args, int $n, string $usage): void
{
    if (count($args) < $n) {
        fwrite(STDERR, "usage: inl-admin.php $usage\n");
        exit(2);
    }
}

try {
    switch ($cmd) {
    case 'kiosk-add':
        // USER: the INLISLite user (users.ID) its loans are made by; the
        // config's create_by when not given.
        need($args, 2, 'kiosk-add ID TOKEN-FILE [USER]');
        $token = $store->addKiosk($args[0], $args[0], (int) ($args[2] ?? $bridge->config('create_by')));
        $old = umask(077);
        file_put_contents($args[1], $token . "\n");
        umask($old);
        break;
    case 'kiosk-set':
        need($args, 4, 'kiosk-set ID HOLD-WINDOW-DAYS PIN-REQUIRED(0|1) AUTO-CHECKIN(0|1)');
        $store->setKioskSettings($args[0], (int) $args[1], (bool) $args[2], null, (bool) $args[3]);
        break;
    case 'route':
        need($args, 4, 'route KIOSK SIZE MEMBERNO BARCODE...');
        echo $store->routeItems($args[2], array_slice($args, 3), $args[0], $args[1]), "\n";
        break;
    case 'enrol':
        need($args, 2, 'enrol MEMBERNO UID-HEX');
        $store->enrolCard($args[0], $args[1]);
        break;
    case 'pin':
        need($args, 2, 'pin MEMBERNO PIN');
        $store->setMemberPin($args[0], $args[1]);
        break;
    case 'staff-add':
        need($args, 2, 'staff-add CREDENTIAL PIN [NAME]');
        $store->setStaff($args[0], $args[1], $args[2] ?? '');
        break;
    case 'command':
        // resend_events: the third argument is its from_seq.
        need($args, 2, 'command KIOSK TYPE [LOCKER | FROM-SEQ]');
        $resend = $args[1] === 'resend_events';
        echo $store->addCommand($args[0], $args[1], isset($args[2]) && !$resend ? (int) $args[2] : null, null, null,
            isset($args[2]) && $resend ? (int) $args[2] : null), "\n";
        break;
    default:
        fwrite(STDERR, "inl-admin.php: unknown command '$cmd'\n");
        exit(2);
    }
} catch (\InvalidArgumentException $ex) {
    fwrite(STDERR, 'inl-admin.php: ' . $ex->getMessage() . "\n");
    exit(1);
}
