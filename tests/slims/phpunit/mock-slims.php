<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Mocks of the few SLiMS 9.7 classes the plugin's PHP unit tests need
// (its DB connection, Plugins hooks, Mail, migrations, translations):
// the same names and call shapes, not SLiMS. The tables are SLiMS's own,
// from its installer (SlimsTestCase); the plugin inside the real SLiMS is
// tested by tests/slims/defects.sh and the story tests.

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

        /** Mock only: forget the connection (tests that reconnect). */
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

        /** Mock only: drop every hook (between tests). */
        public function forget(string $hook): void
        {
            unset($this->hooks[$hook]);
        }
    }

    /**
     * Mock of SLiMS 9.7's \SLiMS\Mail (a PHPMailer): as there, one shared
     * instance unless $mode says otherwise, to() ADDS an address to it,
     * and the constructor reads config('mail') (a PHP warning when mail is
     * not configured). send() records the message instead of speaking
     * SMTP; $failWith makes it throw, as PHPMailer does when the server
     * refuses.
     */
    class Mail
    {
        public static $mode = 'singleton';
        private static ?Mail $instance = null;
        public static array $sent = [];
        public static ?string $failWith = null;
        public int $Timeout = 300;
        public string $ErrorInfo = '';
        public string $Host;
        private array $to = [];
        private string $subject = '';
        private string $body = '';

        private function __construct()
        {
            $mail = config('mail');
            $this->Host = $mail['server'];
        }

        public static function getInstance()
        {
            if (!empty(self::$mode) && self::$mode != 'singleton') {
                self::$instance = null;
            }
            return self::$instance ??= new Mail();
        }

        /** Mock only: forget the shared instance (between tests). */
        public static function reset(): void
        {
            self::$instance = null;
            self::$sent = [];
            self::$failWith = null;
        }

        public static function to(string $mailAddress, string $mailName = 'Member')
        {
            self::getInstance()->addAddress($mailAddress, $mailName);
            return self::getInstance();
        }

        public function addAddress($address, $name = '')
        {
            $this->to[] = $address;
            return true;
        }

        public function clearAllRecipients()
        {
            $this->to = [];
        }

        public function clearAttachments()
        {
        }

        public function smtpClose()
        {
        }

        public function subject(string $s)
        {
            $this->subject = $s;
            return $this;
        }

        public function message(string $s)
        {
            $this->body = $s;
            return $this;
        }

        public function send()
        {
            if (self::$failWith !== null) {
                $this->ErrorInfo = self::$failWith;
                throw new \RuntimeException(self::$failWith);
            }
            self::$sent[] = ['to' => implode(', ', $this->to), 'subject' => $this->subject, 'body' => $this->body];
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

    /** Mock of SLiMS's config(): only 'mail' (null: not configured), set by tests. */
    function config($key = '', $default = null)
    {
        return $key === 'mail' ? ($GLOBALS['mock_slims_config_mail'] ?? $default) : $default;
    }
    $GLOBALS['mock_slims_config_mail'] = ['server' => '127.0.0.1', 'server_port' => 25];

    if (!function_exists('__')) {
        function __(string $content): string
        {
            $lang = getenv('LOKERBUKU_SLIMS_LANG') ?: 'en_US';
            return \SLiMS\Polyglot\Learn::$words[$lang][$content] ?? $content;
        }
    }

    /** Where the plugin under test lives. */
    function mock_plugin_dir(): string
    {
        return getenv('LOKERBUKU_SLIMS_PLUGIN') ?: dirname(__DIR__, 3) . '/integrations/slims/lokerbuku';
    }

    /** Loads the plugin as SLiMS loads an active one. */
    function mock_load_plugin(): void
    {
        require_once mock_plugin_dir() . '/lokerbuku.plugin.php';
    }

    /** Runs the plugin's migrations above the version recorded, as SLiMS's runner does. */
    function mock_migrate(\PDO $db): int
    {
        $db->exec('CREATE TABLE IF NOT EXISTS mock_plugin_version (plugin varchar(64) PRIMARY KEY, version int NOT NULL)');
        $st = $db->prepare('SELECT version FROM mock_plugin_version WHERE plugin = ?');
        $st->execute(['lokerbuku']);
        $version = (int) $st->fetchColumn();
        $dir = mock_plugin_dir() . '/migration';
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
        $db->prepare('REPLACE INTO mock_plugin_version (plugin, version) VALUES (?, ?)')
            ->execute(['lokerbuku', $version]);
        return $version;
    }
}
