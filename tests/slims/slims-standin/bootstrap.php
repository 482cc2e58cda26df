<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// A stand-in for the parts of SLiMS 9.7 the lokerbuku plugin uses (see
// README.md): not SLiMS, just the same names and call shapes.

namespace SLiMS {

    final class DB
    {
        private static ?\PDO $pdo = null;

        public static function getInstance($driver = 'pdo', $connectionName = ''): \PDO
        {
            if (self::$pdo === null) {
                $dsn = 'mysql:unix_socket=' . getenv('LOKERBUKU_SLIMS_DB_SOCKET')
                    . ';dbname=' . (getenv('LOKERBUKU_SLIMS_DB_NAME') ?: 'slims') . ';charset=utf8mb4';
                self::$pdo = new \PDO($dsn, getenv('LOKERBUKU_SLIMS_DB_USER') ?: 'root',
                    (string) getenv('LOKERBUKU_SLIMS_DB_PASSWORD'),
                    [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
            }
            return self::$pdo;
        }

        /** Stand-in only: forget the connection (tests that reconnect). */
        public static function reset(): void
        {
            self::$pdo = null;
        }
    }

    final class Plugins
    {
        private static ?Plugins $instance = null;
        private array $hooks = [];
        public array $menus = [];

        public static function getInstance(): Plugins
        {
            return self::$instance ??= new Plugins();
        }

        public function register($hook, $callback, $sequence = 9999)
        {
            while (isset($this->hooks[$hook][$sequence])) {
                $sequence++;
            }
            $this->hooks[$hook][$sequence] = $callback;
            ksort($this->hooks[$hook]);
        }

        public function registerHook($hook, $callback, $sequence = 9999)
        {
            $this->register($hook, $callback, $sequence);
        }

        public static function hook($hook, $callback, $sequence = 9999)
        {
            self::getInstance()->register($hook, $callback, $sequence);
        }

        public function registerMenu($module_name, $label, $path, $description = null)
        {
            $this->menus[$module_name][md5((string) realpath($path))] = [$label, $path, $description, realpath($path)];
        }

        public function getMenus($module = null): array
        {
            return $module === null ? $this->menus : ($this->menus[$module] ?? []);
        }

        public function execute($hook, $params = [])
        {
            foreach ($this->hooks[$hook] ?? [] as $callback) {
                call_user_func_array($callback, array_values($params));
            }
        }

        /** Stand-in only: drop every hook (between tests). */
        public function forget(string $hook): void
        {
            unset($this->hooks[$hook]);
        }
    }

    final class Mail
    {
        public static array $sent = [];
        private array $msg = [];

        public static function to(string $mailAddress, string $mailName = 'Member')
        {
            $m = new Mail();
            $m->msg = ['to' => $mailAddress, 'name' => $mailName];
            return $m;
        }

        public function subject(string $s)
        {
            $this->msg['subject'] = $s;
            return $this;
        }

        public function message(string $s)
        {
            $this->msg['body'] = $s;
            return $this;
        }

        public function send()
        {
            self::$sent[] = $this->msg;
            $dir = getenv('LOKERBUKU_SLIMS_MAIL_DIR');
            if ($dir) {
                file_put_contents($dir . '/' . sprintf('%.6f', microtime(true)) . '-' . bin2hex(random_bytes(3)) . '.json',
                    json_encode($this->msg, JSON_UNESCAPED_UNICODE));
            }
            return true;
        }
    }
}

namespace SLiMS\Migration {

    abstract class Migration
    {
        abstract function up();

        abstract function down();
    }
}

namespace SLiMS\Polyglot {

    final class Learn
    {
        public static array $words = [];

        public static function newLanguage(): Learn
        {
            return new Learn();
        }

        public function fromPhpFile(string $path): void
        {
            foreach (require $path as $locale => $words) {
                self::$words[$locale] = array_merge(self::$words[$locale] ?? [], $words);
            }
        }
    }
}

namespace {

    define('INDEX_AUTH', '1');
    define('DS', DIRECTORY_SEPARATOR);
    define('SB', __DIR__ . DS);

    date_default_timezone_set(getenv('LOKERBUKU_SLIMS_TZ') ?: 'Asia/Jakarta');

    if (!function_exists('__')) {
        function __(string $content): string
        {
            $lang = getenv('LOKERBUKU_SLIMS_LANG') ?: 'en_US';
            return \SLiMS\Polyglot\Learn::$words[$lang][$content] ?? $content;
        }
    }

    /** Where the plugin under test lives. */
    function standin_plugin_dir(): string
    {
        return getenv('LOKERBUKU_SLIMS_PLUGIN') ?: dirname(__DIR__, 3) . '/integrations/slims/lokerbuku';
    }

    /** Loads the plugin as SLiMS loads an active one. */
    function standin_load_plugin(): void
    {
        require_once standin_plugin_dir() . '/lokerbuku.plugin.php';
    }

    /** Runs the plugin's migrations above the version recorded, as SLiMS's runner does. */
    function standin_migrate(\PDO $db): int
    {
        $db->exec('CREATE TABLE IF NOT EXISTS standin_plugin_version (plugin varchar(64) PRIMARY KEY, version int NOT NULL)');
        $st = $db->prepare('SELECT version FROM standin_plugin_version WHERE plugin = ?');
        $st->execute(['lokerbuku']);
        $version = (int) $st->fetchColumn();
        $dir = standin_plugin_dir() . '/migration';
        $files = array_diff(scandir($dir), ['.', '..']);
        natsort($files);
        foreach ($files as $file) {
            require_once $dir . '/' . $file;
            $n = (int) explode('_', $file)[0];
            if ($n > $version) {
                $class = implode('_', array_slice(explode('_', basename($file, '.php')), 1));
                (new $class())->up();
                $version = $n;
            }
        }
        $db->prepare('REPLACE INTO standin_plugin_version (plugin, version) VALUES (?, ?)')
            ->execute(['lokerbuku', $version]);
        return $version;
    }
}
