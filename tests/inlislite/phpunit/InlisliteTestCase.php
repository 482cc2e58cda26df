<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// A test against INLISLite's real schema in the MariaDB run-phpunit.sh
// started: database inlislite_v3 (the 3.2 schema as published) or
// inlislite_v33 (3.3-shaped from it), picked by the test's data set. Each
// test runs inside one transaction that is rolled back, so fixtures and
// the bridge's writes vanish with it; the bridge writes inside its
// caller's transaction, as the shared Events code runs it.

use Lokerbuku\Inlislite\Circulation;
use Lokerbuku\Inlislite\Version;
use PHPUnit\Framework\TestCase;

abstract class InlisliteTestCase extends TestCase
{
    /** @var array<string, PDO> */
    private static array $dbs = [];
    protected PDO $db;
    protected string $version = '3.2';
    protected string $now = '2026-12-03 10:15:00';

    public static function versions(): array
    {
        return ['3.2' => ['3.2'], '3.3' => ['3.3']];
    }

    protected function useVersion(string $version): void
    {
        $name = $version === '3.3' ? 'inlislite_v33' : 'inlislite_v3';
        if (!isset(self::$dbs[$name])) {
            $socket = getenv('LOKERBUKU_INL_DB_SOCKET');
            $pdo = new PDO("mysql:unix_socket=$socket;dbname=$name;charset=utf8mb4", 'root', '',
                [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false]);
            $pdo->exec("SET time_zone = '+07:00'");
            self::$dbs[$name] = $pdo;
        }
        $this->version = $version;
        $this->db = self::$dbs[$name];
        $this->db->beginTransaction();
    }

    protected function tearDown(): void
    {
        if (isset($this->db) && $this->db->inTransaction()) {
            $this->db->rollBack();
        }
    }

    protected function circulation(array $site = []): Circulation
    {
        return new Circulation($this->db, Version::of($this->version),
            $site + ['location_library_id' => 1, 'branch_id' => null, 'loan_id_prefix' => ''],
            fn(): string => $this->now);
    }

    protected function sql(string $sql, array $args = []): PDOStatement
    {
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return $st;
    }

    protected function one(string $sql, array $args = [])
    {
        return $this->sql($sql, $args)->fetchColumn();
    }

    /** A member as INLISLite's registration makes one; returns members.ID. */
    protected function member(string $no, array $set = []): int
    {
        $set += ['Fullname' => 'Anggota ' . $no, 'EndDate' => '2099-12-31', 'JenisAnggota_id' => 2,
            'StatusAnggota_id' => 3, 'RegisterDate' => '2026-01-02'];
        $this->sql('INSERT INTO members (MemberNo, ' . implode(', ', array_keys($set)) . ') VALUES (?'
            . str_repeat(', ?', count($set)) . ')', array_merge([$no], array_values($set)));
        $id = (int) $this->db->lastInsertId();
        $this->sql('INSERT INTO memberloanauthorizelocation (Member_id, LocationLoan_id) VALUES (?, 1)', [$id]);
        foreach ([1, 7, 8] as $cat) {
            $this->sql('INSERT INTO memberloanauthorizecategory (Member_id, CategoryLoan_id) VALUES (?, ?)', [$id, $cat]);
        }
        return $id;
    }

    /** A catalogue and one copy, available and loanable; returns collections.ID. */
    protected function item(string $code, array $set = [], int $worksheet = 1): int
    {
        $this->sql('INSERT INTO catalogs (ControlNumber, BIBID, Title, Worksheet_id) VALUES (?, ?, ?, ?)',
            ["LB-$code", "0010-$code", "Judul $code", $worksheet]);
        $set += ['Status_id' => 1, 'Rule_id' => 1, 'Category_id' => 7, 'Location_id' => 466,
            'Location_Library_id' => 1];
        $set['Catalog_id'] = (int) $this->db->lastInsertId();
        $this->sql('INSERT INTO collections (NomorBarcode, ' . implode(', ', array_keys($set)) . ') VALUES (?'
            . str_repeat(', ?', count($set)) . ')', array_merge([$code], array_values($set)));
        return (int) $this->db->lastInsertId();
    }

    /**
     * An INLISLite staff user allowed to lend at site 1; returns its id.
     * 3.3: a myth/auth account in group 11 layanan (3.3 has no per-site
     * lending rights for staff).
     */
    protected function user(string $name = 'petugas'): int
    {
        if ($this->version === '3.3') {
            $this->sql('INSERT INTO users (email, username, password_hash, active) VALUES (?, ?, ?, 1)',
                ["$name@perpustakaan.example", $name, password_hash(base64_encode(hash('sha384', 'x', true)),
                    PASSWORD_DEFAULT)]);
            $id = (int) $this->db->lastInsertId();
            $this->sql('INSERT INTO auth_groups_users (group_id, user_id) VALUES (11, ?)', [$id]);
            return $id;
        }
        $this->sql("INSERT INTO users (username, password, Fullname, IsActive, Role_id) VALUES (?, UPPER(SHA1('x')), ?, b'1', 3)",
            [$name, "Petugas $name"]);
        $id = (int) $this->db->lastInsertId();
        $this->sql('INSERT INTO userloclibforloan (User_id, LocLib_id) VALUES (?, 1)', [$id]);
        return $id;
    }
}
