<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The bridge wired from its config.php: the database connection (the
// bridge's own MySQL account), the INLISLite version, the site, and the
// shared sync server's classes (../common, or common/ inside an
// assembled bridge).

namespace Lokerbuku\Inlislite;

use Lokerbuku\Sync\Store;

final class Bridge
{
    public const PREFIX = 'lokerbuku_';

    private ?\PDO $db = null;
    private ?Library $library = null;

    private function __construct(private array $config)
    {
    }

    /** Loads the classes: the shared ones and the bridge's own. */
    public static function autoload(): void
    {
        static $done = false;
        if ($done) {
            return;
        }
        $done = true;
        $root = dirname(__DIR__);
        $common = is_file("$root/common/autoload.php") ? "$root/common" : dirname($root) . '/common';
        require_once "$common/autoload.php";
        spl_autoload_register(static function (string $class) use ($root): void {
            $ns = 'Lokerbuku\\Inlislite\\';
            if (strncmp($class, $ns, strlen($ns)) === 0) {
                $name = substr($class, strlen($ns));
                if (preg_match('/^[A-Za-z][A-Za-z0-9]*$/', $name) && is_file("$root/src/$name.php")) {
                    require_once "$root/src/$name.php";
                }
            }
        });
    }

    /**
     * The bridge of a config file (config.php beside src/ unless $path or
     * the environment's LOKERBUKU_INL_CONFIG names another). Throws
     * \RuntimeException saying what is wrong with it.
     */
    public static function fromConfig(?string $path = null): self
    {
        self::autoload();
        $path ??= getenv('LOKERBUKU_INL_CONFIG') ?: dirname(__DIR__) . '/config.php';
        if (!is_file($path)) {
            throw new \RuntimeException("config: $path is missing (copy config.sample.php)");
        }
        $c = require $path;
        if (!is_array($c)) {
            throw new \RuntimeException("config: $path does not return an array");
        }
        foreach (['db_dsn', 'db_user', 'version', 'location_library_id'] as $k) {
            if (!isset($c[$k])) {
                throw new \RuntimeException("config: $k is not set in $path");
            }
        }
        Version::of((string) $c['version']);
        return new self($c);
    }

    public function config(string $key, $default = null)
    {
        return $this->config[$key] ?? $default;
    }

    public function db(): \PDO
    {
        if ($this->db === null) {
            date_default_timezone_set((string) $this->config('timezone', 'Asia/Jakarta'));
            $this->db = new \PDO($this->config['db_dsn'], $this->config['db_user'],
                (string) $this->config('db_password', ''), [
                    \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
                    \PDO::ATTR_EMULATE_PREPARES => false,
                ]);
            // INLISLite stores local times without a zone: the session
            // speaks the library's time, so NOW() agrees with PHP's.
            $this->db->exec("SET time_zone = '" . (new \DateTimeImmutable())->format('P') . "'");
        }
        return $this->db;
    }

    public function version(): Version
    {
        return Version::of((string) $this->config['version']);
    }

    public function library(?\Closure $notify = null): Library
    {
        if ($this->library === null) {
            $circulation = new Circulation($this->db(), $this->version(), [
                'location_library_id' => (int) $this->config['location_library_id'],
                'branch_id' => isset($this->config['branch_id']) ? (int) $this->config['branch_id'] : null,
                'loan_id_prefix' => (string) $this->config('loan_id_prefix', ''),
            ]);
            $createBy = $this->config('create_by');
            // The patrons are told through the bridge's message queue
            // (NotifyQueue: SMS outbox, e-mail, WhatsApp, as config.php
            // switches them on), made when the first message comes.
            $notify ??= fn(\Lokerbuku\Sync\Notice $n): ?string => NotifyQueue::ofBridge($this)->take($n);
            $this->library = new Library($this->db(), $circulation, $createBy === null ? null : (int) $createBy,
                $notify, self::PREFIX);
        }
        return $this->library;
    }

    public function store(): Store
    {
        return new Store($this->db(), $this->library(), self::PREFIX);
    }

    /** The bridge's tables: the shared ones and its own (idempotent). */
    public function install(): void
    {
        \Lokerbuku\Sync\Schema::create($this->db(), self::PREFIX);
        \Lokerbuku\Sync\Schema::upgrade($this->db(), self::PREFIX);
        foreach (self::ownTables() as $name => $ddl) {
            $this->db()->exec("CREATE TABLE IF NOT EXISTS $name $ddl ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                . ' COLLATE=utf8mb4_unicode_ci');
        }
        // The site key file config.php names, where the shared code reads it.
        if (($file = $this->config('site_key_file')) !== null) {
            (new \Lokerbuku\Sync\Config($this->db(), self::PREFIX))->setSiteKeyFile((string) $file);
        }
    }

    /** Tables of the bridge beyond the shared ones: name => column DDL. */
    public static function ownTables(): array
    {
        self::autoload();
        // The patrons' message queue and the staff pages' sign-in failures.
        return Library::tables(self::PREFIX) + NotifyQueue::TABLES + StaffAuth::TABLES;
    }

    /** Every table name the bridge's account needs full rights on. */
    public static function allTables(): array
    {
        self::autoload();
        return array_merge(array_keys(\Lokerbuku\Sync\Schema::tables(self::PREFIX)), array_keys(self::ownTables()));
    }
}
