<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Staff sign in with INLISLite's own accounts (3.x and 3.3 formats), and
// are locked out for a while after too many failures.

namespace Lokerbuku\Inlislite\Tests;

use Lokerbuku\Inlislite\StaffAuth;

final class StaffAuthTest extends InlTestCase
{
    private int $now = 1_800_000_000;

    protected function setUp(): void
    {
        parent::setUp();
        StaffAuth::createTables($this->db);
    }

    private function auth(bool $v33 = false, ?\PDO $db = null): StaffAuth
    {
        return new StaffAuth($db ?? $this->db, $v33, fn(): int => $this->now);
    }

    /** A 3.x user as INLISLite's user form saves one (upper-case SHA-1). */
    private function user3x(string $name, string $password, bool $active = true, ?string $bcrypt = null): void
    {
        $this->db->prepare('INSERT INTO users (username, password, password_hash, Fullname, IsActive, Role_id)'
            . " VALUES (?, ?, ?, ?, IF(? = 1, b'1', b'0'), 1)")
            ->execute([$name, strtoupper(sha1($password)), $bcrypt, "Petugas $name", $active ? 1 : 0]);
    }

    public function test_a_3x_user_signs_in_with_the_sha1_password(): void
    {
        $this->user3x('sirkulasi', 'Rahasia-123');
        $u = $this->auth()->login('sirkulasi', 'Rahasia-123', '10.0.0.5');
        $this->assertSame('sirkulasi', $u['username']);
        $this->assertSame('Petugas sirkulasi', $u['name']);
        $this->assertNull($this->auth()->login('sirkulasi', 'rahasia-123', '10.0.0.5'));
        $this->assertNull($this->auth()->login('sirkulasi', '', '10.0.0.5'), 'no empty password');
        $this->assertNull($this->auth()->login('nobody', 'Rahasia-123', '10.0.0.5'));
    }

    public function test_a_3x_user_with_a_password_hash_and_an_inactive_one(): void
    {
        $this->user3x('baru', 'old-sha1-pass', true, password_hash('Sandi-Baru-9', PASSWORD_BCRYPT));
        $this->assertNotNull($this->auth()->login('baru', 'Sandi-Baru-9', '10.0.0.5'));
        $this->user3x('pensiun', 'Rahasia-123', false);
        $this->assertNull($this->auth()->login('pensiun', 'Rahasia-123', '10.0.0.5'), 'IsActive = 0 is refused');
    }

    public function test_too_many_failures_lock_the_account_for_a_while(): void
    {
        $this->user3x('sirkulasi', 'Rahasia-123');
        for ($i = 0; $i < StaffAuth::USER_FAILS_MAX; $i++) {
            $this->assertNull($this->auth()->login('sirkulasi', "salah-$i", '10.0.0.' . $i));
        }
        try {
            $this->auth()->login('Sirkulasi', 'Rahasia-123', '10.0.0.99');
            $this->fail('a locked account signed in');
        } catch (\RuntimeException $e) {
            $this->assertStringContainsString('too many failed sign-ins', $e->getMessage());
        }
        $this->now += StaffAuth::LOCK_S + 1;
        $this->assertNotNull($this->auth()->login('sirkulasi', 'Rahasia-123', '10.0.0.99'));
    }

    public function test_one_address_trying_many_accounts_is_locked(): void
    {
        $this->user3x('sirkulasi', 'Rahasia-123');
        for ($i = 0; $i < StaffAuth::IP_FAILS_MAX; $i++) {
            $this->auth()->login("tebak$i", 'x', '192.0.2.7');
        }
        $this->expectException(\RuntimeException::class);
        $this->auth()->login('sirkulasi', 'Rahasia-123', '192.0.2.7');
    }

    public function test_failures_spread_out_do_not_lock(): void
    {
        $this->user3x('sirkulasi', 'Rahasia-123');
        for ($i = 0; $i < 3 * StaffAuth::USER_FAILS_MAX; $i++) {
            $this->auth()->login('sirkulasi', 'salah', '10.0.0.5');
            $this->now += intdiv(StaffAuth::WINDOW_S, 4) + 1;
        }
        $this->assertNotNull($this->auth()->login('sirkulasi', 'Rahasia-123', '10.0.0.5'));
    }

    public function test_a_33_staff_user_signs_in_and_a_member_account_does_not(): void
    {
        $v33 = new \PDO('mysql:unix_socket=' . getenv('LOKERBUKU_INL_DB_SOCKET') . ';dbname=inlislite_v33;charset=utf8mb4',
            'root', '', [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
        $v33->exec('DELETE FROM users');
        $v33->exec('DELETE FROM auth_groups_users');
        StaffAuth::createTables($v33);
        $v33->exec('DELETE FROM lokerbuku_staff_login');
        // As myth/auth's Password::hash stores them.
        $hash = fn(string $p) => password_hash(base64_encode(hash('sha384', $p, true)), PASSWORD_DEFAULT);
        $add = $v33->prepare('INSERT INTO users (email, username, password_hash, active) VALUES (?, ?, ?, ?)');
        $add->execute(['layanan@perpus.example', 'layanan', $hash('Layanan#2026'), 1]);
        $staff = (int) $v33->lastInsertId();
        $add->execute(['anggota@example.org', 'M-0001', $hash('Anggota#2026'), 1]);
        $member = (int) $v33->lastInsertId();
        $add->execute(['off@perpus.example', 'nonaktif', $hash('Layanan#2026'), 0]);
        $off = (int) $v33->lastInsertId();
        $v33->exec("INSERT INTO auth_groups_users (group_id, user_id) VALUES (11, $staff), (8, $member), (11, $off)");
        $a = $this->auth(true, $v33);
        $this->assertSame('layanan', $a->login('layanan', 'Layanan#2026', '10.0.0.5')['username']);
        $this->assertSame($staff, $a->login('layanan@perpus.example', 'Layanan#2026', '10.0.0.5')['id']);
        $this->assertNull($a->login('layanan', 'layanan#2026', '10.0.0.5'));
        $this->assertNull($a->login('M-0001', 'Anggota#2026', '10.0.0.5'), 'a member\'s OPAC account is not staff');
        $this->assertNull($a->login('nonaktif', 'Layanan#2026', '10.0.0.5'), 'active = 0 is refused');
        // A bcrypt of the bare password (not myth/auth's form) does not pass.
        $v33->prepare('UPDATE users SET password_hash = ? WHERE id = ?')
            ->execute([password_hash('Layanan#2026', PASSWORD_DEFAULT), $staff]);
        $this->assertNull($a->login('layanan', 'Layanan#2026', '10.0.0.5'));
    }
}
