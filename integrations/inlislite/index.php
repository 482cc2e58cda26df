<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The bridge's front controller: Locker Sync API v1 (docs/sync-api.md)
// at index.php/api/locker/v1/kiosks/{id}/{endpoint}, served by the
// shared sync server (common/) with INLISLite as the library system.

require __DIR__ . '/src/Bridge.php';

use Lokerbuku\Inlislite\Bridge;
use Lokerbuku\Inlislite\NotifyQueue;
use Lokerbuku\Sync\Api;

try {
    $bridge = Bridge::fromConfig();
    $db = $bridge->db();
} catch (\Throwable $ex) {
    // The kiosk learns the server is not ready; the reason goes to the
    // web server's log, never to the client.
    error_log('lokerbuku: ' . $ex->getMessage());
    http_response_code(503);
    header('Content-Type: application/json');
    header('Retry-After: 60');
    echo '{"error":{"code":"unavailable","message":"the bridge is not set up: staff must fix it"}}';
    exit;
}
$fault = getenv('LOKERBUKU_INL_FAULT_DIR');
Api::serve($db, $bridge->library(), [
    'route' => 'path',
    'prefix' => Bridge::PREFIX,
    'fault_dir' => $fault === false || $fault === '' ? null : $fault,
]);
// The kiosk has its answer: a few queued messages to patrons go out now
// (a channel that is down keeps them queued for later).
try {
    NotifyQueue::ofBridge($bridge)->deliverDue();
} catch (\Throwable $ex) {
    $bridge->library()->log('delivering messages: ' . $ex->getMessage());
}
