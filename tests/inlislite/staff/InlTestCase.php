<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// A connection to the test's INLISLite database, emptied of what each
// test adds (members, users, the outbox, the bridge's own tables).

namespace Lokerbuku\Inlislite\Tests;

use PHPUnit\Framework\TestCase;

abstract class InlTestCase extends TestCase
{
    protected \PDO $db;

    protected function setUp(): void
    {
        $this->db = new \PDO('mysql:unix_socket=' . getenv('LOKERBUKU_INL_DB_SOCKET') . ';dbname='
            . getenv('LOKERBUKU_INL_DB_NAME') . ';charset=utf8mb4', 'root', '',
            [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
        // As INLISLite's installs run: MariaDB's default strict mode.
        $this->db->exec("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
            . "NO_ENGINE_SUBSTITUTION'");
        $this->db->exec('SET time_zone = \'+00:00\'');
        foreach (['lokerbuku_notify', 'lokerbuku_notify_hold', 'lokerbuku_staff_login'] as $t) {
            $this->db->exec("DROP TABLE IF EXISTS $t");
        }
        $this->db->exec('SET FOREIGN_KEY_CHECKS=0');
        foreach (['outbox', 'members', 'users'] as $t) {
            $this->db->exec("DELETE FROM $t");
        }
        $this->db->exec('SET FOREIGN_KEY_CHECKS=1');
    }

    /** A member as INLISLite's membership form makes one; returns its row. */
    protected function member(string $no, string $name, ?string $hp, ?string $email): array
    {
        $this->db->prepare('INSERT INTO members (MemberNo, Fullname, NoHp, Email, StatusAnggota_id, JenisAnggota_id,'
            . ' RegisterDate, EndDate) VALUES (?, ?, ?, ?, 3, 2, NOW(), NOW() + INTERVAL 1 YEAR)')
            ->execute([$no, $name, $hp, $email]);
        $st = $this->db->prepare('SELECT * FROM members WHERE MemberNo = ?');
        $st->execute([$no]);
        return $st->fetch(\PDO::FETCH_ASSOC);
    }
}
