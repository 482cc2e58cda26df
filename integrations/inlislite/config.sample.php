<?php
// The bridge's settings: copy this file to config.php beside it and fill
// it in (README, "Configure"). Keep config.php out of the web's reach
// (the .htaccess here does it for Apache/Laragon; nginx: see README).
return [
    // INLISLite's database, through the bridge's OWN MySQL account (see
    // "MySQL account" in the README: never INLISLite's or root).
    'db_dsn' => 'mysql:host=127.0.0.1;port=3306;dbname=inlislite_v3;charset=utf8mb4',
    'db_user' => 'lokerbuku',
    'db_password' => '',
    // '3.0', '3.1' or '3.2' (INLISLite on Yii2) or '3.3' (CodeIgniter 4).
    'version' => '3.2',
    // The library site the lockers stand at (location_library.ID) and,
    // if you use branches, its branch (branchs.ID).
    'location_library_id' => 1,
    'branch_id' => null,
    // The INLISLite user (users.ID) that loans and returns at the lockers
    // are made by (CreateBy), unless a kiosk names another one.
    'create_by' => 1,
    // 3.x only: text put before INLISLite's loan numbers (yymmdd + 5
    // digits), if your desks use a site code there.
    'loan_id_prefix' => '',
    // The library's time zone: INLISLite stores local times.
    'timezone' => 'Asia/Jakarta',
    // A file of 32 random bytes (hex) shared with the kiosks, outside the
    // web folder.
    'site_key_file' => '/etc/lokerbuku/site.key',
    // How patrons are told a hold is in a locker (README, "config.php"):
    // 'sms' => true puts rows in INLISLite's Gammu outbox; 'email' and
    // 'whatsapp' take the library's SMTP server and gateway.
    'notify' => [
        'sms' => true,
    ],
];
