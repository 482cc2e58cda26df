<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Common ground of the plugin's tests: a clean database with SLiMS 9.7's
// own tables and default rows, made by the SQL of SLiMS's installer
// (install/install.sql.php of the published tarball, which run-phpunit.sh
// unpacks; MyISAM as the installer makes them, then the five tables the
// README's install step 1 converts to InnoDB), and the plugin's; the site
// key of docs/sync-api.md's worked examples; helpers to make members,
// items, reservations and kiosks and to call the API as a kiosk would.

use Lokerbuku\Sync\Api;
use Lokerbuku\Slims\Store;
use PHPUnit\Framework\TestCase;

abstract class SlimsTestCase extends TestCase
{
    public const SITE_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

    protected \PDO $db;
    protected Store $store;
    protected static ?string $keyFile = null;

    protected function setUp(): void
    {
        $this->db = \SLiMS\DB::getInstance();
        if ($this->db->inTransaction()) {
            $this->db->rollBack();
        }
        $this->db->exec('SET FOREIGN_KEY_CHECKS = 0');
        foreach ($this->db->query('SHOW TRIGGERS')->fetchAll(\PDO::FETCH_COLUMN) as $t) {
            $this->db->exec("DROP TRIGGER `$t`");
        }
        if (!self::$installed) {
            // SLiMS's tables once per run, as its installer makes them.
            foreach ($this->db->query('SHOW TABLES')->fetchAll(\PDO::FETCH_COLUMN) as $t) {
                $this->db->exec("DROP TABLE `$t`");
            }
            foreach (self::installerSql() as $sql) {
                $this->db->exec($sql);
            }
            foreach (['loan', 'reserve', 'fines', 'item', 'member'] as $t) {
                $this->db->exec("ALTER TABLE $t ENGINE=InnoDB");
            }
            self::$installed = true;
        } else {
            // Then, for each test, the tables tests write, back to the
            // installer's rows, and the plugin's tables made again.
            foreach (self::WRITTEN as $t) {
                $this->db->exec("TRUNCATE TABLE `$t`");
            }
            foreach (self::installerSql() as $sql) {
                if (preg_match('/^\s*INSERT\s+(?:IGNORE\s+)?INTO\s+`?(\w+)`?/i', $sql, $m)
                    && in_array($m[1], self::WRITTEN, true)) {
                    $this->db->exec($sql);
                }
            }
            // Emptied, not dropped (faster); the migrations run again and
            // make whatever a test dropped, their rows made afresh.
            foreach ($this->db->query("SHOW TABLES LIKE 'lokerbuku\\_%'")->fetchAll(\PDO::FETCH_COLUMN) as $t) {
                $this->db->exec("TRUNCATE TABLE `$t`");
            }
            $this->db->exec('DROP TABLE IF EXISTS mock_plugin_version');
        }
        mock_migrate($this->db);
        if (self::$keyFile === null) {
            self::$keyFile = tempnam(sys_get_temp_dir(), 'lokerbuku-site-key');
            file_put_contents(self::$keyFile, self::SITE_KEY . "\n");
        }
        $this->store = new Store($this->db);
        $this->store->config()->set('site_key_file', self::$keyFile);
        \SLiMS\Mail::reset();
        $GLOBALS['mock_slims_config_mail'] = ['server' => '127.0.0.1', 'server_port' => 25];
        \SLiMS\Plugins::getInstance()->forget(\Lokerbuku\Slims\Library::HOOK);
        // A member type: 2 loans, 7 days, fine 500 a day, no grace.
        $this->db->exec('DELETE FROM mst_member_type');
        $this->db->exec("INSERT INTO mst_member_type (member_type_id, member_type_name, loan_limit,"
            . " loan_periode, member_periode, reborrow_limit, fine_each_day, grace_periode, input_date)"
            . " VALUES (1, 'Umum', 2, 7, 365, 1, 500, 0, '2026-01-01')");
        $this->db->exec("REPLACE INTO mst_item_status (item_status_id, item_status_name, no_loan)"
            . " VALUES ('R', 'Reference', 1), ('MIS', 'Missing', 1)");
    }

    private static ?array $installerSql = null;
    private static bool $installed = false;
    /** SLiMS's tables that tests and the plugin write. */
    private const WRITTEN = ['member', 'item', 'biblio', 'loan', 'reserve', 'fines', 'holiday', 'mst_member_type',
        'mst_item_status', 'mst_loan_rules', 'system_log', 'user', 'setting'];

    /** SLiMS's installer's CREATE and INSERT statements, in its order. */
    protected static function installerSql(): array
    {
        if (self::$installerSql === null) {
            $file = getenv('LOKERBUKU_SLIMS_INSTALL_SQL');
            if (!$file || !is_file($file)) {
                throw new \RuntimeException('LOKERBUKU_SLIMS_INSTALL_SQL must name SLiMS\'s install/install.sql.php'
                    . ' (tests/slims/run-phpunit.sh unpacks it)');
            }
            $sql = $query_trigger = [];
            require $file;
            self::$installerSql = array_merge($sql['create'] ?? [], $sql['insert'] ?? []);
        }
        return self::$installerSql;
    }

    protected function member(string $id, string $name = 'Siti Aminah', string $expire = '2030-12-31',
                              int $pending = 0, ?string $email = 'siti@example.org', int $type = 1): void
    {
        $this->db->prepare('INSERT INTO member (member_id, member_name, gender, member_type_id,'
            . ' member_email, expire_date, is_pending, register_date) VALUES (?, ?, 1, ?, ?, ?, ?, ?)')
            ->execute([$id, $name, $type, $email, $expire, $pending, '2026-01-01']);
    }

    protected function item(string $code, string $title = 'Bumi Manusia', ?string $status = null,
                            int $collType = 0, int $gmd = 0): int
    {
        $this->db->prepare('INSERT INTO biblio (title, gmd_id) VALUES (?, ?)')->execute([$title, $gmd]);
        $biblio = (int) $this->db->lastInsertId();
        $this->db->prepare('INSERT INTO item (biblio_id, item_code, item_status_id, coll_type_id, input_date)'
            . ' VALUES (?, ?, ?, ?, NOW())')->execute([$biblio, $code, $status, $collType]);
        return $biblio;
    }

    protected function reserve(string $member, string $item, string $date = '2026-11-01 10:00:00'): int
    {
        $st = $this->db->prepare('SELECT biblio_id FROM item WHERE item_code = ?');
        $st->execute([$item]);
        $this->db->prepare('INSERT INTO reserve (member_id, biblio_id, item_code, reserve_date) VALUES (?, ?, ?, ?)')
            ->execute([$member, (int) $st->fetchColumn(), $item, $date]);
        return (int) $this->db->lastInsertId();
    }

    protected function lend(string $member, string $item, string $loanDate, string $due, int $rule = 0): int
    {
        $this->db->prepare('INSERT INTO loan (item_code, member_id, loan_date, due_date, loan_rules_id,'
            . ' is_lent, is_return) VALUES (?, ?, ?, ?, ?, 1, 0)')->execute([$item, $member, $loanDate, $due, $rule]);
        return (int) $this->db->lastInsertId();
    }

    /** A hold of one member's reservations of these items, routed to $kiosk. */
    protected function routed(string $member, array $items, string $kiosk = 'k-01', string $size = 'small'): string
    {
        $ids = [];
        foreach ($items as $code) {
            $ids[] = $this->reserve($member, $code);
        }
        return $this->store->routeReservations($ids, $kiosk, $size);
    }

    /** Calls the API: [status, headers, decoded body]. */
    /** One request as a kiosk makes it; $sync: its Lokerbuku-Sync header ('1.1'), null for a v1.0 kiosk. */
    protected function api(string $method, string $path, ?string $token, $body = '', ?string $sync = null): array
    {
        $api = new Api($this->store);
        // As the kiosk builds it: the base URL, then the path as text
        // (barcodes percent-encoded by the caller, a query after "?").
        $qs = "p=" . Api::PREFIX . $path;
        $raw = is_string($body) ? $body : json_encode($body);
        [$status, $headers, $reply] = $api->handle($method, $qs, $token === null ? null : "Bearer $token", $raw,
            $sync);
        return [$status, $headers, json_decode(json_encode($reply), true)];
    }

    protected static function hmac(string $credential): string
    {
        return hash_hmac('sha256', $credential, hex2bin(self::SITE_KEY));
    }

    protected static function uuid(): string
    {
        $b = random_bytes(16);
        $b[6] = chr(ord($b[6]) & 0x0f | 0x40);
        $b[8] = chr(ord($b[8]) & 0x3f | 0x80);
        return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($b), 4));
    }

    protected static int $seq = 1000;

    protected static function event(string $type, array $payload, string $at = '2026-11-23T03:00:00.000Z',
                                    ?string $id = null): array
    {
        return ['id' => $id ?? self::uuid(), 'seq' => ++self::$seq, 'type' => $type, 'at' => $at,
            'payload' => (object) $payload];
    }

    /** Posts events; returns [status, results by id]. */
    protected function post(string $token, array $events, string $kiosk = 'k-01'): array
    {
        [$status, , $body] = $this->api('POST', "/kiosks/$kiosk/events", $token, ['events' => $events]);
        $by = [];
        foreach ($body['results'] ?? [] as $r) {
            $by[$r['id']] = $r;
        }
        return [$status, $by, $body];
    }

    protected function rowsOf(string $sql, array $args = []): int
    {
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return (int) $st->fetchColumn();
    }

    protected function row(string $sql, array $args = []): ?array
    {
        $st = $this->db->prepare($sql);
        $st->execute($args);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }
}
