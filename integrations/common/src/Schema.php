<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The DDL of the shared tables (InnoDB: every event is one transaction),
// for MariaDB 10.3+ and MySQL 5.7+. Every name is <prefix><table>; they
// never touch the library system's own tables.

namespace Lokerbuku\Sync;

final class Schema
{
    /** The default prefix (the SLiMS plugin's tables). */
    public const PREFIX = 'lokerbuku_';

    /** Columns that hold a member number or a barcode: 63 bytes, a protocol id. */
    private const WIDE = ['hold' => ['member_id' => 'varchar(63) NOT NULL'],
        'hold_item' => ['item_code' => 'varchar(63) NOT NULL'],
        'card' => ['member_id' => 'varchar(63) NOT NULL'],
        'member_pin' => ['member_id' => 'varchar(63) NOT NULL']];

    /** Columns added since the first version: [table => [column => DDL]]. */
    private const ADDED = [
        'kiosk' => ['user_id' => 'int NULL AFTER hold_window_days',
            'auto_checkin' => 'tinyint NOT NULL DEFAULT 0 AFTER user_id'],
        'hold' => ['notify_state' => 'varchar(8) CHARACTER SET ascii NULL AFTER notified_at',
            'notify_tries' => 'int NOT NULL DEFAULT 0 AFTER notify_state',
            'notify_next_at' => 'datetime NULL AFTER notify_tries'],
        // Sync v1.1: commands that expire, resend_events' first seq.
        'command' => ['expires_at' => 'datetime NULL AFTER created_at',
            'from_seq' => 'bigint NULL AFTER reason'],
    ];

    /** Table names without the prefix => their columns. */
    private const TABLES = [
        'setting' => "(
            name varchar(64) NOT NULL PRIMARY KEY,
            value text NOT NULL)",
        // The change sequence: one row; taking a number locks it until the
        // transaction ends, so changes commit in sequence order.
        'seq' => "(
            id tinyint NOT NULL PRIMARY KEY,
            value bigint NOT NULL)",
        'kiosk' => "(
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            name varchar(100) NOT NULL DEFAULT '',
            token_sha256 char(64) CHARACTER SET ascii NOT NULL,
            pin_required tinyint NOT NULL DEFAULT 1,
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
        'hold' => "(
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            reserve_id int NULL,
            member_id varchar(63) NOT NULL,
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
        'hold_item' => "(
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            item_code varchar(63) NOT NULL,
            PRIMARY KEY (hold_id, item_code),
            KEY item_code (item_code))",
        // A hold taken away from a kiosk (cancelled, routed elsewhere).
        'removal' => "(
            seq bigint NOT NULL PRIMARY KEY,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            KEY kiosk_hold (kiosk_id, hold_id))",
        // NFC cards enrolled by staff: only HMAC(site key, 'uid:<HEX>').
        'card' => "(
            uid_hmac char(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            member_id varchar(63) NOT NULL,
            enrolled_at datetime NOT NULL,
            KEY member_id (member_id))",
        // Members' kiosk PINs, as pbkdf2-sha256 hashes: set by the member
        // in the OPAC or by staff, never taken from the OPAC password.
        'member_pin' => "(
            member_id varchar(63) NOT NULL PRIMARY KEY,
            pin_hash varchar(160) CHARACTER SET ascii NOT NULL,
            updated_at datetime NOT NULL)",
        'staff' => "(
            credential char(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
            name varchar(100) NOT NULL DEFAULT '',
            pin_hash varchar(160) CHARACTER SET ascii NOT NULL,
            role varchar(5) NOT NULL DEFAULT 'staff',
            removed tinyint NOT NULL DEFAULT 0,
            seq bigint NOT NULL)",
        // The kiosks a staff card is sent to (with its PIN hash); a card
        // with no row here goes to every kiosk.
        'staff_kiosk' => "(
            credential char(64) CHARACTER SET ascii NOT NULL,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            PRIMARY KEY (credential, kiosk_id))",
        // Every event a kiosk reported and the server accepted, for good:
        // the key of exactly once.
        'event' => "(
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
        'command' => "(
            command_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            kiosk_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
            type varchar(20) NOT NULL,
            locker int NULL,
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NULL,
            reason varchar(127) NULL,
            from_seq bigint NULL,
            created_at datetime NOT NULL,
            expires_at datetime NULL,
            done_at datetime NULL,
            dropped tinyint NOT NULL DEFAULT 0,
            KEY kiosk_done (kiosk_id, done_at))",
    ];

    /** The full name of a shared table: $prefix is [a-z][a-z0-9_]{0,20}. */
    public static function table(string $prefix, string $name): string
    {
        if (!preg_match('/^[a-z][a-z0-9_]{0,20}$/', $prefix)) {
            throw new \InvalidArgumentException('a table prefix is 1 to 21 of a-z 0-9 _, from a letter');
        }
        if (!isset(self::TABLES[$name])) {
            throw new \InvalidArgumentException("no shared table $name");
        }
        return $prefix . $name;
    }

    /** Full table name => columns, in the order they are made. */
    public static function tables(string $prefix = self::PREFIX): array
    {
        $out = [];
        foreach (self::TABLES as $name => $columns) {
            $out[self::table($prefix, $name)] = $columns;
        }
        return $out;
    }

    /** Makes the tables that are missing (run on every install and upgrade: changes nothing else). */
    public static function create(\PDO $db, string $prefix = self::PREFIX): void
    {
        foreach (self::tables($prefix) as $name => $columns) {
            $db->exec("CREATE TABLE IF NOT EXISTS $name $columns"
                . ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci');
        }
        $db->exec('INSERT IGNORE INTO ' . self::table($prefix, 'seq') . ' (id, value) VALUES (1, 0)');
        // A new instance id on every install: cursors of an earlier install
        // (or of another server) are not ours, so a kiosk gets a full set.
        $db->prepare('INSERT IGNORE INTO ' . self::table($prefix, 'setting') . ' (name, value) VALUES (?, ?)')
            ->execute(['instance', bin2hex(random_bytes(4))]);
    }

    /**
     * Brings tables made by an earlier version up to TABLES: the columns
     * added since, and member numbers and barcodes widened to 63 bytes
     * (the SLiMS plugin's first versions kept 20). Returns the columns it
     * added as 'table.column' (full table names); [] when none was missing.
     */
    public static function upgrade(\PDO $db, string $prefix = self::PREFIX): array
    {
        $col = $db->prepare('SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS'
            . ' WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?');
        $added = [];
        foreach (self::ADDED as $table => $columns) {
            $full = self::table($prefix, $table);
            foreach ($columns as $column => $ddl) {
                $col->execute([$full, $column]);
                if ($col->fetch() === false) {
                    $db->exec("ALTER TABLE $full ADD COLUMN $column $ddl");
                    $added[] = "$full.$column";
                }
            }
        }
        foreach (self::WIDE as $table => $columns) {
            $full = self::table($prefix, $table);
            foreach ($columns as $column => $ddl) {
                $col->execute([$full, $column]);
                $len = $col->fetchColumn();
                if ($len !== false && (int) $len < 63) {
                    $db->exec("ALTER TABLE $full MODIFY COLUMN $column $ddl");
                }
            }
        }
        return $added;
    }

    public static function drop(\PDO $db, string $prefix = self::PREFIX): void
    {
        foreach (array_reverse(array_keys(self::tables($prefix))) as $name) {
            $db->exec("DROP TABLE IF EXISTS $name");
        }
    }
}
