<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Staff sign in to the bridge's pages with their own INLISLite accounts:
// 3.0-3.2 `users` (upper-case SHA-1 in `password`, or a bcrypt
// `password_hash` when set; `IsActive`), 3.3 myth/auth `users` (bcrypt of
// the base64 SHA-384 of the password; `active`; a staff group, since 3.3
// members have accounts there too). The bridge stores no staff password.
// Failed sign-ins are counted per account and per address; too many lock
// both for a while, checked before any password is looked at.

namespace Lokerbuku\Inlislite;

final class StaffAuth
{
    public const TABLES = [
        // Failed sign-ins: key 'u:<account>' or 'ip:<address>'.
        'lokerbuku_staff_login' => "(
            k varchar(191) NOT NULL PRIMARY KEY,
            fails int NOT NULL DEFAULT 0,
            first_at datetime NOT NULL,
            locked_until datetime NULL)",
    ];

    /** Failures per account within WINDOW_S before it is locked for LOCK_S. */
    public const USER_FAILS_MAX = 5;
    /** Failures per address (several accounts tried from one place). */
    public const IP_FAILS_MAX = 20;
    public const WINDOW_S = 900;
    public const LOCK_S = 900;

    private \Closure $clock;

    public function __construct(private \PDO $db, private bool $v33, ?\Closure $clock = null)
    {
        $this->clock = $clock ?? static fn(): int => time();
    }

    public static function createTables(\PDO $db): void
    {
        foreach (self::TABLES as $name => $columns) {
            $db->exec("CREATE TABLE IF NOT EXISTS $name $columns"
                . ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci');
        }
    }

    private function at(int $offsetS = 0): string
    {
        return gmdate('Y-m-d H:i:s', ($this->clock)() + $offsetS);
    }

    /**
     * Signs a member of staff in: ['id' => int, 'username' => ..., 'name'
     * => ...], or null when the account, password or state is wrong
     * (the same answer for each). Throws \RuntimeException when the
     * account or the address is locked for too many failures.
     */
    public function login(string $username, string $password, string $ip): ?array
    {
        $username = trim($username);
        $keys = ['u:' . mb_strtolower(mb_strcut($username, 0, 100, 'UTF-8')), 'ip:' . $ip];
        $st = $this->db->prepare('SELECT k FROM lokerbuku_staff_login WHERE k IN (?, ?) AND locked_until > ?');
        $st->execute([$keys[0], $keys[1], $this->at()]);
        if ($st->fetchColumn() !== false) {
            throw new \RuntimeException('too many failed sign-ins: wait 15 minutes');
        }
        $user = $username === '' || $password === '' || strlen($password) > 1024 ? null
            : ($this->v33 ? $this->check33($username, $password) : $this->check3x($username, $password));
        if ($user === null) {
            $this->fail($keys[0], self::USER_FAILS_MAX);
            $this->fail($keys[1], self::IP_FAILS_MAX);
            return null;
        }
        $this->db->prepare('DELETE FROM lokerbuku_staff_login WHERE k = ?')->execute([$keys[0]]);
        return $user;
    }

    private function fail(string $key, int $max): void
    {
        // A window that ended starts again at one failure.
        $this->db->prepare('INSERT INTO lokerbuku_staff_login (k, fails, first_at) VALUES (?, 1, ?)'
            . ' ON DUPLICATE KEY UPDATE fails = IF(first_at <= ?, 1, fails + 1),'
            . ' first_at = IF(first_at <= ?, VALUES(first_at), first_at)')
            ->execute([$key, $this->at(), $this->at(-self::WINDOW_S), $this->at(-self::WINDOW_S)]);
        $this->db->prepare('UPDATE lokerbuku_staff_login SET locked_until = ?, fails = 0, first_at = ?'
            . ' WHERE k = ? AND fails >= ?')->execute([$this->at(self::LOCK_S), $this->at(), $key, $max]);
    }

    /** INLISLite 3.0-3.2 (Yii2): `users`. */
    private function check3x(string $username, string $password): ?array
    {
        $st = $this->db->prepare('SELECT ID, username, password, password_hash, Fullname,'
            . ' CAST(IsActive AS UNSIGNED) AS active FROM users WHERE username = ? LIMIT 2');
        $st->execute([$username]);
        $rows = $st->fetchAll(\PDO::FETCH_ASSOC);
        if (count($rows) !== 1 || (int) $rows[0]['active'] !== 1) {
            return null;
        }
        $u = $rows[0];
        $ok = false;
        $hash = (string) ($u['password_hash'] ?? '');
        if ($hash !== '' && str_starts_with($hash, '$2')) {
            $ok = password_verify($password, $hash);
        }
        $sha = strtoupper((string) $u['password']);
        if (!$ok && preg_match('/^[0-9A-F]{40}$/', $sha)) {
            $ok = hash_equals($sha, strtoupper(sha1($password)));
        }
        return $ok ? ['id' => (int) $u['ID'], 'username' => $u['username'], 'name' => $u['Fullname']] : null;
    }

    /** INLISLite 3.3 (CodeIgniter 4, myth/auth): `users`, by user name or e-mail. */
    private function check33(string $username, string $password): ?array
    {
        $st = $this->db->prepare('SELECT id, username, email, password_hash FROM users'
            . ' WHERE (username = ? OR email = ?) AND active = 1 AND deleted_at IS NULL LIMIT 2');
        $st->execute([$username, $username]);
        $rows = $st->fetchAll(\PDO::FETCH_ASSOC);
        if (count($rows) !== 1 || !password_verify(base64_encode(hash('sha384', $password, true)),
            (string) $rows[0]['password_hash'])) {
            return null;
        }
        // Members sign in to 3.3's OPAC with accounts here, in group 'anggota' only.
        $g = $this->db->prepare("SELECT COUNT(*) FROM auth_groups_users gu JOIN auth_groups g ON g.id = gu.group_id"
            . " WHERE gu.user_id = ? AND g.name <> 'anggota'");
        $g->execute([$rows[0]['id']]);
        if ((int) $g->fetchColumn() === 0) {
            return null;
        }
        $u = $rows[0];
        return ['id' => (int) $u['id'], 'username' => (string) ($u['username'] ?? $u['email']),
            'name' => (string) ($u['username'] ?? $u['email'])];
    }
}
