<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The integration's settings (table <prefix>setting) and the site key,
// which lives in a file outside the web root and the database (setting
// site_key_file), so that a database backup does not carry it.

namespace Lokerbuku\Sync;

final class Config
{
    private string $table;

    public function __construct(private \PDO $db, string $prefix = Schema::PREFIX)
    {
        $this->table = Schema::table($prefix, 'setting');
    }

    public function get(string $name, ?string $default = null): ?string
    {
        $st = $this->db->prepare('SELECT value FROM ' . $this->table . ' WHERE name = ?');
        $st->execute([$name]);
        $v = $st->fetchColumn();
        return $v === false ? $default : (string) $v;
    }

    public function set(string $name, string $value): void
    {
        $this->db->prepare('INSERT INTO ' . $this->table . ' (name, value) VALUES (?, ?)'
            . ' ON DUPLICATE KEY UPDATE value = VALUES(value)')->execute([$name, $value]);
    }

    /** The site key's bytes; throws when it is not set up. */
    public function siteKey(): string
    {
        $file = $this->get('site_key_file');
        if ($file === null || $file === '') {
            throw new \RuntimeException('site key: no site key file set (on the staff page)');
        }
        return self::readSiteKey($file);
    }

    /**
     * The key in a site key file: an absolute path to a regular file the
     * web server can read, holding 32 to 128 hex digits (16 to 64 bytes).
     * Throws with the reason; PHP says nothing (SLiMS would make any
     * warning an error page).
     */
    public static function readSiteKey(string $file): string
    {
        if ($file === '' || $file[0] !== '/' || str_contains($file, "\0")) {
            throw new \RuntimeException('site key: the path must be absolute');
        }
        $hex = Guard::run(function () use ($file) {
            clearstatcache(true, $file);
            if (!is_file($file)) {
                throw new \RuntimeException('site key: no such file (or not a regular file)');
            }
            if (!is_readable($file)) {
                throw new \RuntimeException('site key: the web server cannot read the file');
            }
            if (filesize($file) > 1024) {
                throw new \RuntimeException('site key: the file is too big for a site key');
            }
            $hex = file_get_contents($file, false, null, 0, 1024);
            if ($hex === false) {
                throw new \RuntimeException('site key: cannot read the file');
            }
            return $hex;
        });
        $hex = trim($hex);
        if (!preg_match('/^([0-9a-fA-F]{2}){16,64}$/', $hex)) {
            throw new \RuntimeException('site key: the file does not hold 32 to 128 hex digits');
        }
        return hex2bin($hex);
    }

    /** Saves the site key file's path, only once it holds a good key. */
    public function setSiteKeyFile(string $file): void
    {
        self::readSiteKey($file);
        $this->set('site_key_file', $file);
    }

    /** Tells this install's cursors from any other's. */
    public function instance(): string
    {
        return $this->get('instance', '0');
    }

    /** Pickup codes: how many digits (6 to 12; 0: no pickup codes). */
    public function codeDigits(): int
    {
        $n = (int) $this->get('pickup_code_digits', '6');
        return $n === 0 ? 0 : max(6, min(12, $n));
    }
}
