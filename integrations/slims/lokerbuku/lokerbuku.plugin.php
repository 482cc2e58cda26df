<?php
/**
 * Plugin Name: lokerbuku book lockers
 * Plugin URI: https://github.com/lokerbuku/lokerbuku
 * Description: Book pickup lockers (lokerbuku kiosks): Locker Sync API v1, routing reservations to lockers, kiosk monitoring
 * Version: 0.2.0
 * Author: lokerbuku
 */
// SPDX-License-Identifier: GPL-3.0-or-later
// Registers the plugin with SLiMS 9.7: the API routes (custom_api_route),
// the staff page (a menu under Circulation), the member's kiosk PIN page
// in the OPAC (index.php?p=kiosk_pin) and its strings. A kiosk PIN is
// never taken from the member's OPAC password.

use Lokerbuku\Slims\Library;
use Lokerbuku\Sync\Api;
use SLiMS\Plugins;

require_once __DIR__ . '/autoload.php';

if (class_exists('SLiMS\\Polyglot\\Learn')) {
    \SLiMS\Polyglot\Learn::newLanguage()->fromPhpFile(__DIR__ . '/lang.php');
}

$plugin = Plugins::getInstance();

// index.php?p=api/locker/v1/...: SLiMS's API router has 'api' as its
// base path and matches the rest; the API parses the raw request itself.
$plugin->register('custom_api_route', function ($router) {
    $router->map('GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS', '@^/locker/v1(/.*)?$', function () {
        $db = \SLiMS\DB::getInstance();
        // Test instances only: faults armed as files in this folder.
        $fault = getenv('LOKERBUKU_SLIMS_FAULT_DIR');
        Api::serve($db, new Library($db), ['route' => 'query',
            'fault_dir' => $fault === false || $fault === '' ? null : $fault]);
        exit;
    });
});

$plugin->registerMenu('circulation', __('Book Lockers'), __DIR__ . '/admin/index.php');

// OPAC pages are named by their label: index.php?p=kiosk_pin.
$plugin->registerMenu('opac', 'Kiosk PIN', __DIR__ . '/opac/pin.php');
