<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The DDL of the plugin's tables (InnoDB: every event is one transaction).

namespace Lokerbuku\Slims;

final class Schema
{
    public const TABLES = [
        'lokerbuku_setting' => "(
            name varchar(64) NOT NULL PRIMARY KEY,
            value text NOT NULL)",
        // The change sequence: one row; taking a number locks it until the
        // transaction ends, so changes commit in sequence order.
        'lokerbuku_seq' => "(
            id tinyint NOT NULL PRIMARY KEY,
            value bigint NOT NULL)",
        'lokerbuku_kiosk' => "(
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            name varchar(100) NOT NULL DEFAULT '',
            token_sha256 char(64) CHARACTER SET ascii NOT NULL,
            pin_required tinyint NOT NULL DEFAULT 0,
            hold_window_days int NOT NULL DEFAULT 7,
            last_status_at datetime(3) NULL,
            last_status mediumtext NULL,
            created_at datetime NOT NULL,
            UNIQUE KEY token_sha256 (token_sha256))",
        // A hold: a reservation (or items staff picked) routed to a kiosk.
        // state: pending (to load), loaded (in a locker), and the finished
        // picked_up, unloaded, expired, cancelled.
        'lokerbuku_hold' => "(
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            reserve_id int NULL,
            member_id varchar(20) NOT NULL,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            size varchar(6) NOT NULL DEFAULT 'small',
            state varchar(10) NOT NULL DEFAULT 'pending',
            locker int NULL,
            code_hmac char(64) CHARACTER SET ascii NULL,
            code_sealed varchar(255) CHARACTER SET ascii NULL,
            ready_since datetime(3) NULL,
            expires_at datetime NULL,
            change_seq bigint NOT NULL,
            created_at datetime NOT NULL,
            finished_at datetime(3) NULL,
            notified_at datetime NULL,
            note text NULL,
            KEY kiosk_seq (kiosk_id, change_seq),
            KEY member_id (member_id),
            KEY reserve_id (reserve_id))",
        'lokerbuku_hold_item' => "(
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            item_code varchar(20) NOT NULL,
            PRIMARY KEY (hold_id, item_code),
            KEY item_code (item_code))",
        // A hold taken away from a kiosk (cancelled, routed elsewhere).
        'lokerbuku_removal' => "(
            seq bigint NOT NULL PRIMARY KEY,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            KEY kiosk_hold (kiosk_id, hold_id))",
        // NFC cards enrolled by staff: only HMAC(site key, 'uid:<HEX>').
        'lokerbuku_card' => "(
            uid_hmac char(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            member_id varchar(20) NOT NULL,
            enrolled_at datetime NOT NULL,
            KEY member_id (member_id))",
        // Members' PINs, as pbkdf2-sha256 hashes (made when a numeric
        // member password is set, or by staff).
        'lokerbuku_member_pin' => "(
            member_id varchar(20) NOT NULL PRIMARY KEY,
            pin_hash varchar(160) CHARACTER SET ascii NOT NULL,
            updated_at datetime NOT NULL)",
        'lokerbuku_staff' => "(
            credential char(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            name varchar(100) NOT NULL DEFAULT '',
            pin_hash varchar(160) CHARACTER SET ascii NOT NULL,
            role varchar(5) NOT NULL DEFAULT 'staff',
            removed tinyint NOT NULL DEFAULT 0,
            seq bigint NOT NULL)",
        // Every event a kiosk reported and the server accepted, for good:
        // the key of exactly once.
        'lokerbuku_event' => "(
            event_id char(36) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            seq bigint NOT NULL,
            type varchar(63) CHARACTER SET ascii NOT NULL,
            at datetime(3) NOT NULL,
            payload mediumtext NOT NULL,
            received_at datetime(3) NOT NULL,
            outcome text NULL,
            attention tinyint NOT NULL DEFAULT 0,
            KEY kiosk_seq (kiosk_id, seq),
            KEY attention (attention))",
        'lokerbuku_command' => "(
            command_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            type varchar(20) NOT NULL,
            locker int NULL,
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NULL,
            reason varchar(127) NULL,
            created_at datetime NOT NULL,
            done_at datetime NULL,
            dropped tinyint NOT NULL DEFAULT 0,
            KEY kiosk_done (kiosk_id, done_at))",
    ];

    public static function create(\PDO $db): void
    {
        foreach (self::TABLES as $name => $columns) {
            $db->exec("CREATE TABLE IF NOT EXISTS $name $columns"
                . ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci');
        }
        $db->exec('INSERT IGNORE INTO lokerbuku_seq (id, value) VALUES (1, 0)');
        // A new instance id on every install: cursors of an earlier install
        // (or of another server) are not ours, so a kiosk gets a full set.
        $db->prepare('INSERT IGNORE INTO lokerbuku_setting (name, value) VALUES (?, ?)')
            ->execute(['instance', bin2hex(random_bytes(4))]);
    }

    public static function drop(\PDO $db): void
    {
        foreach (array_reverse(array_keys(self::TABLES)) as $name) {
            $db->exec("DROP TABLE IF EXISTS $name");
        }
    }
}
