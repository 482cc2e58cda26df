<?php
/**
 * Plugin Name: lokerbuku book lockers
 * Plugin URI: https://github.com/lokerbuku/lokerbuku
 * Description: Book pickup lockers (lokerbuku kiosks): Locker Sync API v1, routing reservations to lockers, kiosk monitoring
 * Version: 0.1.0
 * Author: lokerbuku
 */
// SPDX-License-Identifier: GPL-3.0-or-later
// Registers the plugin with SLiMS 9.7: the API routes (custom_api_route),
// the staff pages (a menu under Circulation), its strings, and member
// password changes as kiosk PINs.

use Lokerbuku\Slims\Api;
use Lokerbuku\Slims\Store;
use SLiMS\Plugins;

foreach (['Text', 'Credentials', 'Config', 'Schema', 'Store', 'Circulation', 'Notify', 'Events', 'Api', 'AdminPage'] as $lokerbukuClass) {
    require_once __DIR__ . '/src/' . $lokerbukuClass . '.php';
}
unset($lokerbukuClass);

if (class_exists('SLiMS\\Polyglot\\Learn')) {
    \SLiMS\Polyglot\Learn::newLanguage()->fromPhpFile(__DIR__ . '/lang.php');
}

$plugin = Plugins::getInstance();

// index.php?p=api/locker/v1/...: SLiMS's API router has 'api' as its
// base path and matches the rest; the API parses the raw request itself.
$plugin->register('custom_api_route', function ($router) {
    $router->map('GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS', '@^/locker/v1(/.*)?$', function () {
        Api::serve(\SLiMS\DB::getInstance());
        exit;
    });
});

$plugin->registerMenu('circulation', __('Book Lockers'), __DIR__ . '/admin/index.php');

// The clear password is in the membership form only while it is saved.
$lokerbukuPassword = function ($data) {
    $pw = $_POST['memberPasswd2'] ?? null;
    if (!is_string($pw) || $pw === '' || ($_POST['memberPasswd'] ?? null) !== $pw
        || !isset($data['member_id'])) {
        return;
    }
    try {
        (new Store(\SLiMS\DB::getInstance()))->memberPasswordChanged((string) $data['member_id'], trim($pw));
    } catch (\Throwable $e) {
        error_log('lokerbuku: member PIN: ' . $e->getMessage());
    }
};
$plugin->register('membership_after_update', $lokerbukuPassword);
$plugin->register('membership_after_save', $lokerbukuPassword);
unset($lokerbukuPassword);
