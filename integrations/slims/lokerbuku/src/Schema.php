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
            user_id int NULL,
            auto_checkin tinyint NOT NULL DEFAULT 0,
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
            notify_state varchar(8) CHARACTER SET ascii NULL,
            notify_tries int NOT NULL DEFAULT 0,
            notify_next_at datetime NULL,
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
        // Members' kiosk PINs, as pbkdf2-sha256 hashes: set by the member
        // in the OPAC or by staff, never taken from the OPAC password.
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

    /**
     * Brings tables made by an earlier version up to TABLES (migration 2):
     * the columns added since, and no PIN taken from an OPAC password
     * (version 1 made them so; they are cleared, members set a new one).
     */
    public static function upgrade(\PDO $db): void
    {
        $add = [
            'lokerbuku_kiosk' => ['user_id' => 'int NULL AFTER hold_window_days',
                'auto_checkin' => 'tinyint NOT NULL DEFAULT 0 AFTER user_id'],
            'lokerbuku_hold' => ['notify_state' => 'varchar(8) CHARACTER SET ascii NULL AFTER notified_at',
                'notify_tries' => 'int NOT NULL DEFAULT 0 AFTER notify_state',
                'notify_next_at' => 'datetime NULL AFTER notify_tries'],
        ];
        $has = $db->prepare('SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()'
            . ' AND TABLE_NAME = ? AND COLUMN_NAME = ?');
        $added = false;
        foreach ($add as $table => $columns) {
            foreach ($columns as $column => $ddl) {
                $has->execute([$table, $column]);
                if (!(int) $has->fetchColumn()) {
                    $db->exec("ALTER TABLE $table ADD COLUMN $column $ddl");
                    $added = true;
                }
            }
        }
        if (!$added) {
            return;
        }
        // Kiosks of version 1 act for SLiMS's first user (the installer's
        // administrator) until staff choose another on the staff page.
        $db->exec('UPDATE lokerbuku_kiosk SET user_id = (SELECT MIN(user_id) FROM user) WHERE user_id IS NULL');
        $db->exec("UPDATE lokerbuku_hold SET notify_state = 'sent' WHERE notified_at IS NOT NULL");
        $db->beginTransaction();
        $members = $db->query('SELECT member_id FROM lokerbuku_member_pin')->fetchAll(\PDO::FETCH_COLUMN);
        $db->exec('DELETE FROM lokerbuku_member_pin');
        $seq = $db->prepare('UPDATE lokerbuku_seq SET value = LAST_INSERT_ID(value + 1) WHERE id = 1');
        $touch = $db->prepare("UPDATE lokerbuku_hold SET change_seq = LAST_INSERT_ID() WHERE member_id = ?"
            . " AND state IN ('pending', 'loaded')");
        foreach ($members as $m) {
            $seq->execute();
            $touch->execute([$m]);
        }
        $db->commit();
    }

    public static function drop(\PDO $db): void
    {
        foreach (array_reverse(array_keys(self::TABLES)) as $name) {
            $db->exec("DROP TABLE IF EXISTS $name");
        }
    }
}
