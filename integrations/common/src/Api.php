<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The front controller of Locker Sync API v1 (docs/sync-api.md), for any
// library system: the route either in the query's 'p' parameter
// (SLiMS: index.php?p=api/locker/v1/kiosks/{id}/{endpoint}, handle()) or
// in the URL's path (.../api/locker/v1/kiosks/{id}/{endpoint},
// handlePath()). Both take the request as plain values and return the
// reply, so that it can be tested without a web server; serve() wires it
// to PHP's globals.

namespace Lokerbuku\Sync;

final class Api
{
    public const PREFIX = 'api/locker/v1';
    public const BODY_MAX = 1048576;
    public const EVENTS_MAX = 500;
    public const REPLY_BUDGET = 3 * 1048576;
    public const LIMIT_DEFAULT = 200;
    public const COMMANDS_MAX = 32;
    /** The version this server speaks, said in every reply's SYNC_HEADER (docs/sync-api.md, "Versions"). */
    public const SYNC_HEADER = 'Lokerbuku-Sync';
    public const SYNC_VERSION = '1.1';

    private const ENDPOINTS = ['changes' => 'GET', 'events' => 'POST', 'status' => 'POST', 'items' => 'GET'];
    private const CODES = [400 => 'bad_request', 401 => 'unauthorized', 403 => 'forbidden',
        404 => 'not_found', 405 => 'method_not_allowed', 413 => 'too_large', 422 => 'invalid',
        429 => 'rate_limited', 500 => 'internal', 503 => 'unavailable'];

    /** Whether the last request came with a kiosk's valid token. */
    private bool $authenticated = false;
    /**
     * The minor version of the API the kiosk said it speaks in this
     * request's Lokerbuku-Sync header (1 for '1.1'), 0 without one: what
     * v1.1 added goes only to a kiosk that said so.
     */
    private int $minor = 0;

    public function __construct(private Store $store, private ?string $faultDir = null)
    {
    }

    /**
     * The route in a raw query string: the decoded 'p' parameter and the
     * other parameters. The raw string, not $_GET: SLiMS escapes and strips
     * $_GET before plugins run, which would change barcodes and cursors.
     * Without a 'p' parameter, p is null.
     */
    public static function splitQuery(string $queryString): array
    {
        $p = null;
        $params = [];
        foreach (explode('&', $queryString) as $part) {
            if ($part === '') {
                continue;
            }
            [$k, $v] = array_pad(explode('=', $part, 2), 2, '');
            $k = urldecode($k);
            $v = urldecode($v);
            if ($k === 'p' && $p === null) {
                $p = $v;
            } elseif (!array_key_exists($k, $params)) {
                $params[$k] = $v;
            }
        }
        return [$p, $params];
    }

    /** [kiosk id, endpoint, argument (barcode) or null, query params] or null: no endpoint. */
    public static function route(?string $p, array $params): ?array
    {
        if ($p === null || !str_starts_with($p, self::PREFIX . '/kiosks/')) {
            return null;
        }
        $rest = substr($p, strlen(self::PREFIX . '/kiosks/'));
        $slash = strpos($rest, '/');
        if ($slash === false || $slash === 0) {
            return null;
        }
        $kiosk = substr($rest, 0, $slash);
        $tail = substr($rest, $slash + 1);
        if (str_starts_with($tail, 'items/')) {
            // Everything after /items/ is the barcode, '?' included.
            $barcode = substr($tail, strlen('items/'));
            return $barcode === '' ? null : [$kiosk, 'items', $barcode, $params];
        }
        [$name, $query] = array_pad(explode('?', $tail, 2), 2, '');
        if (!isset(self::ENDPOINTS[$name]) || $name === 'items') {
            return null;
        }
        $own = [];
        if ($query !== '') {
            foreach (explode('&', $query) as $part) {
                [$k, $v] = array_pad(explode('=', $part, 2), 2, '');
                $own[urldecode($k)] ??= urldecode($v);
            }
        }
        return [$kiosk, $name, null, $own + $params];
    }

    public static function error(int $status, string $message = '', array $headers = []): array
    {
        $body = ['error' => ['code' => self::CODES[$status] ?? 'internal']];
        if ($message !== '') {
            $body['error']['message'] = Text::cut($message, 127);
        }
        if ($status === 401) {
            $headers['WWW-Authenticate'] = 'Bearer';
        }
        if (($status === 429 || $status === 503) && !isset($headers['Retry-After'])) {
            $headers['Retry-After'] = '30';
        }
        return [$status, $headers, $body];
    }

    /** The minor version a Lokerbuku-Sync header names ('1.1': 1); 0 without one or for another form. */
    public static function minorVersion(?string $header): int
    {
        if ($header === null || !preg_match('/^[ \t]*1\.([0-9]{1,4})[ \t]*$/', $header, $m)) {
            return 0;
        }
        return min((int) $m[1], 1000);
    }

    /** The bearer token of an Authorization header, or null. */
    public static function bearer(?string $authorization): ?string
    {
        if ($authorization === null || !preg_match('/^Bearer +([!-~]{32,1024}) *$/', $authorization, $m)) {
            return null;
        }
        return $m[1];
    }

    /**
     * One request, its route in the query's 'p' parameter: [status,
     * headers, body array]. $authorization is the Authorization header's
     * value or null.
     */
    public function handle(string $method, string $queryString, ?string $authorization, string $body,
                           ?string $syncVersion = null): array
    {
        [$p, $params] = self::splitQuery($queryString);
        $this->minor = self::minorVersion($syncVersion);
        return self::said($this->dispatch($method, $p, $params, $authorization, $body));
    }

    /**
     * One request, its route in the URL's path ($path: the request URI's
     * path, still percent-encoded; the route is what follows its first
     * '/api/locker/v1/'), its parameters in $queryString.
     */
    public function handlePath(string $method, string $path, string $queryString, ?string $authorization,
                               string $body, ?string $syncVersion = null): array
    {
        $this->minor = self::minorVersion($syncVersion);
        $at = strpos($path, '/' . self::PREFIX . '/');
        $p = $at === false ? null : rawurldecode(substr($path, $at + 1));
        [, $params] = self::splitQuery($queryString);
        unset($params['p']);
        if ($p !== null && str_contains($p, '?')) {
            // A '?' in the route came percent-encoded: only a barcode may hold one.
            $slash = strpos($p, '/items/');
            if ($slash === false) {
                $p = null;
            }
        }
        return self::said($this->dispatch($method, $p, $params, $authorization, $body));
    }

    /** A reply that says the version of the API this server speaks, as every reply does (v1.1: negotiated). */
    private static function said(array $reply): array
    {
        $reply[1][self::SYNC_HEADER] = self::SYNC_VERSION;
        return $reply;
    }

    private function dispatch(string $method, ?string $p, array $params, ?string $authorization, string $body): array
    {
        try {
            $route = self::route($p, $params);
            if ($route === null) {
                return self::error(404, 'no such endpoint');
            }
            [$kiosk, $endpoint, $arg, $params] = $route;
            $token = self::bearer($authorization);
            $mine = $token === null ? null : $this->store->kioskOfToken($token);
            if ($mine === null) {
                return self::error(401, 'no valid bearer token');
            }
            $this->authenticated = true;
            if (!hash_equals($mine, $kiosk)) {
                return self::error(403, 'this token is for another kiosk');
            }
            if ($endpoint === 'items' && $arg === 'lookup' && $method !== 'GET') {
                // v1.1: POST items/lookup; a GET is v1's lookup of the barcode "lookup".
                $endpoint = 'lookup';
                if ($method !== 'POST') {
                    return self::error(405, 'use GET or POST', ['Allow' => 'GET, POST']);
                }
            } elseif ($method !== self::ENDPOINTS[$endpoint]) {
                return self::error(405, 'use ' . self::ENDPOINTS[$endpoint], ['Allow' => self::ENDPOINTS[$endpoint]]);
            }
            if ($fault = $this->fault($endpoint)) {
                return $fault;
            }
            switch ($endpoint) {
            case 'changes':
                return $this->changes($kiosk, $params);
            case 'events':
                return $this->events($kiosk, $body);
            case 'status':
                return $this->status($kiosk, $body);
            case 'items':
                return $this->item($kiosk, $arg);
            case 'lookup':
                return $this->lookup($kiosk, $body);
            }
            return self::error(404);
        } catch (\Throwable $ex) {
            $db = $this->store->db();
            if ($db->inTransaction()) {
                $db->rollBack();
            }
            // The kiosk gets the API's error, never a path or a trace; the
            // librarian gets one line in the library system's log.
            Guard::log($this->store->library(), ($kiosk ?? '?') . ' ' . $method . ' ' . ($endpoint ?? '?') . ': ' . Guard::describe($ex),
                $kiosk ?? '');
            if ($ex instanceof \RuntimeException && str_starts_with($ex->getMessage(), 'site key:')) {
                return self::error(503, 'the server is not set up (site key): staff must fix it');
            }
            return self::error(500, 'server error');
        }
    }

    /** Test instances only: a fault armed as a file fault-ENDPOINT holding 429 or 503. */
    private function fault(string $endpoint): ?array
    {
        if ($this->faultDir === null) {
            return null;
        }
        $f = $this->faultDir . '/fault-' . $endpoint;
        if (!is_file($f)) {
            return null;
        }
        $status = (int) trim((string) @file_get_contents($f));
        @unlink($f);
        if ($status !== 429 && $status !== 503) {
            return null;
        }
        return self::error($status, 'fault injected', ['Retry-After' => '7']);
    }

    // ---- changes ----

    private function changes(string $kiosk, array $params): array
    {
        $limit = self::LIMIT_DEFAULT;
        if (array_key_exists('limit', $params)) {
            $l = $params['limit'];
            if (!is_string($l) || !preg_match('/^[0-9]{1,4}$/', $l) || (int) $l < 1 || (int) $l > 1000) {
                return self::error(400, 'limit: not a number from 1 to 1000');
            }
            $limit = (int) $l;
        }
        $db = $this->store->db();
        $db->exec('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        try {
            $maxSeq = (int) $this->store->query('SELECT value FROM {seq} WHERE id = 1')->fetchColumn();
            $instance = $this->store->config()->instance();
            $since = -1;
            $cursor = $params['cursor'] ?? '';
            if (is_string($cursor) && preg_match('/^s:([0-9]{1,18}):([0-9a-f]{1,16})$/', $cursor, $m)
                && $m[2] === $instance && (int) $m[1] <= $maxSeq) {
                $since = (int) $m[1];
            }
            $full = $since < 0;
            $since = max($since, 0);
            $k = $this->store->kiosk($kiosk);

            $rows = [];
            $st = $this->store->prepare("SELECT * FROM {hold} WHERE kiosk_id = ? AND change_seq > ?"
                . " AND state IN ('pending', 'loaded') ORDER BY change_seq LIMIT " . ($limit + 1));
            $st->execute([$kiosk, $since]);
            foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $h) {
                $rows[] = [(int) $h['change_seq'], 'hold', $h];
            }
            if (!$full) {
                $st = $this->store->prepare('SELECT seq, hold_id FROM {removal} WHERE kiosk_id = ? AND seq > ?'
                    . ' ORDER BY seq LIMIT 10001');
                $st->execute([$kiosk, $since]);
                foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $r) {
                    $rows[] = [(int) $r['seq'], 'removed_hold', $r['hold_id']];
                }
            }
            // A staff card goes to the kiosks it is scoped to (to every
            // kiosk when to none), and to a kiosk of sync v1.0 only with a
            // PIN hash that kiosk checks (the first form, at most 200 000
            // iterations): else it is a removal there (none in a full set).
            $st = $this->store->prepare('SELECT seq, credential, pin_hash, role, gone FROM (SELECT s.seq,'
                . ' s.credential, s.pin_hash, s.role, (s.removed OR NOT (NOT EXISTS (SELECT 1 FROM {staff_kiosk} sk'
                . ' WHERE sk.credential = s.credential) OR EXISTS (SELECT 1 FROM {staff_kiosk} sk'
                . ' WHERE sk.credential = s.credential AND sk.kiosk_id = ?)) OR (? AND NOT (s.pin_hash LIKE ?'
                . " AND CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(s.pin_hash, '$', 2), '$', -1) AS UNSIGNED)"
                . ' BETWEEN 1 AND ' . Credentials::PIN_ITERATIONS_V10_MAX . '))) AS gone FROM {staff} s) t'
                . ' WHERE seq > ?' . ($full ? ' AND NOT gone' : '') . ' ORDER BY seq LIMIT 1001');
            $st->execute([$kiosk, (int) ($this->minor < 1), 'pbkdf2-sha256$%', $since]);
            foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $s) {
                $rows[] = [(int) $s['seq'], $s['gone'] ? 'removed_staff' : 'staff', $s];
            }
            usort($rows, fn($a, $b) => $a[0] <=> $b[0]);

            $reply = ['cursor' => '', 'more' => false, 'full' => $full, 'holds' => [],
                'removed_holds' => [], 'staff' => [], 'removed_staff' => [],
                'settings' => ['pin_required' => (bool) $k['pin_required'],
                    'hold_window_days' => (int) $k['hold_window_days']]];
            $caps = ['hold' => $limit, 'removed_hold' => 10000, 'staff' => 1000, 'removed_staff' => 10000];
            $arrays = ['hold' => 'holds', 'removed_hold' => 'removed_holds', 'staff' => 'staff',
                'removed_staff' => 'removed_staff'];
            $bytes = 0;
            $last = $since;
            $more = false;
            $inHolds = [];
            foreach ($rows as [$seq, $kind, $row]) {
                $entry = match ($kind) {
                    'hold' => $this->store->holdJson($row, $this->minor),
                    'removed_hold' => $row,
                    'staff' => ['credential' => $row['credential'], 'pin' => $row['pin_hash'], 'role' => $row['role']],
                    'removed_staff' => $row['credential'],
                };
                $size = strlen(json_encode($entry)) + 2;
                if (count($reply[$arrays[$kind]]) >= $caps[$kind] || ($bytes > 0 && $bytes + $size > self::REPLY_BUDGET)) {
                    $more = true;
                    break;
                }
                // Never both in holds and removed_holds: a removal after
                // the hold was routed again here wins only if it is later.
                if ($kind === 'hold') {
                    $inHolds[$row['hold_id']] = true;
                    $reply['removed_holds'] = array_values(array_diff($reply['removed_holds'], [$row['hold_id']]));
                } elseif ($kind === 'removed_hold' && isset($inHolds[$row])) {
                    $last = $seq;
                    continue;
                }
                $bytes += $size;
                $reply[$arrays[$kind]][] = $entry;
                $last = $seq;
            }
            $db->exec('COMMIT');
        } catch (\Throwable $ex) {
            $db->exec('ROLLBACK');
            throw $ex;
        }
        $reply['more'] = $more;
        $reply['cursor'] = 's:' . ($more ? $last : $maxSeq) . ':' . $instance;
        return [200, [], $reply];
    }

    // ---- events ----

    private function events(string $kiosk, string $body): array
    {
        if (strlen($body) > self::BODY_MAX) {
            return self::error(413, 'body over 1 MiB');
        }
        $doc = json_decode($body, false, 64);
        if (!($doc instanceof \stdClass)) {
            return self::error(400, 'body: not a JSON object');
        }
        if (!isset($doc->events) || !is_array($doc->events) || !$doc->events) {
            return self::error(400, 'events: not an array of 1 to 500 events');
        }
        if (count($doc->events) > self::EVENTS_MAX) {
            return self::error(413, 'more than 500 events');
        }
        foreach ($doc->events as $i => $e) {
            if (!($e instanceof \stdClass) || !Events::isUuid($e->id ?? null)) {
                return self::error(422, "events[$i]: not an object with a lower-case UUID id");
            }
        }
        $results = (new Events($this->store))->take($kiosk, $doc->events, $this->minor);
        return [200, [], ['results' => $results]];
    }

    // ---- status ----

    private function status(string $kiosk, string $body): array
    {
        if (strlen($body) > self::BODY_MAX) {
            return self::error(413, 'body over 1 MiB');
        }
        $doc = json_decode($body, false, 64);
        if (!($doc instanceof \stdClass)) {
            return self::error(400, 'body: not a JSON object');
        }
        $db = $this->store->db();
        $now = gmdate('Y-m-d H:i:s');
        $this->store->transaction(function () use ($db, $kiosk, $doc, $body, $now) {
            $this->store->prepare('UPDATE {kiosk} SET last_status_at = ?, last_status = ? WHERE kiosk_id = ?')
                ->execute([$now . '.000', $body, $kiosk]);
            $done = isset($doc->done_commands) && is_array($doc->done_commands) ? $doc->done_commands : [];
            $mark = $this->store->prepare('UPDATE {command} SET done_at = ? WHERE kiosk_id = ?'
                . ' AND command_id = ? AND done_at IS NULL');
            foreach (array_slice($done, 0, 64) as $id) {
                if (is_string($id)) {
                    $mark->execute([$now, $kiosk, $id]);
                }
            }
            // Queued before commands expired (version 5): an open_locker
            // is dropped after OPEN_LOCKER_TTL_S, as then.
            $this->store->prepare("UPDATE {command} SET done_at = ?, dropped = 1 WHERE kiosk_id = ?"
                . " AND type = 'open_locker' AND done_at IS NULL AND expires_at IS NULL AND created_at < ?")
                ->execute([$now, $kiosk, gmdate('Y-m-d H:i:s', time() - Store::OPEN_LOCKER_TTL_S)]);
        });
        // An expired command still goes to a v1.1 kiosk, which does not
        // run it and acknowledges it as expired; a v1 kiosk would run it,
        // so it never gets one, nor what it does not know (resend_events).
        $v11 = $this->minor >= 1;
        $st = $this->store->prepare('SELECT command_id, type, locker, hold_id, reason, from_seq, expires_at'
            . ' FROM {command} WHERE kiosk_id = ? AND done_at IS NULL'
            . ($v11 ? '' : " AND (expires_at IS NULL OR expires_at > ?) AND type <> 'resend_events'")
            . ' ORDER BY created_at, command_id LIMIT ' . self::COMMANDS_MAX);
        $st->execute($v11 ? [$kiosk] : [$kiosk, $now]);
        $commands = [];
        foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $c) {
            $cmd = ['id' => $c['command_id'], 'type' => $c['type']];
            if ($c['locker'] !== null) {
                $cmd['locker'] = (int) $c['locker'];
            }
            if ($c['hold_id'] !== null) {
                $cmd['hold_id'] = $c['hold_id'];
            }
            if ($c['reason'] !== null && $c['reason'] !== '') {
                $cmd['reason'] = $c['reason'];
            }
            if ($v11 && $c['from_seq'] !== null) {
                $cmd['from_seq'] = (int) $c['from_seq'];
            }
            if ($v11 && $c['expires_at'] !== null) {
                $cmd['expires_at'] = str_replace(' ', 'T', $c['expires_at']) . 'Z';
            }
            $commands[] = $cmd;
        }
        // The same clock as expires_at: the kiosk compares the two.
        return [200, [], ['server_time' => str_replace(' ', 'T', $now) . 'Z', 'commands' => $commands]];
    }

    // ---- items ----

    private function item(string $kiosk, string $barcode): array
    {
        if (!Text::isId($barcode)) {
            return self::error(404, 'no pending hold holds this barcode');
        }
        $st = $this->store->prepare("SELECT h.* FROM {hold} h JOIN {hold_item} hi"
            . " ON hi.hold_id = h.hold_id WHERE h.kiosk_id = ? AND h.state = 'pending'"
            . " AND BINARY hi.item_code = ? ORDER BY h.created_at, h.change_seq LIMIT 1");
        $st->execute([$kiosk, $barcode]);
        $h = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$h) {
            return self::error(404, 'no pending hold holds this barcode');
        }
        return [200, [], ['hold' => $this->store->holdJson($h, $this->minor)]];
    }

    /** v1.1: the item lookup with the barcode in the body, so that no URL or log has it. */
    private function lookup(string $kiosk, string $body): array
    {
        if (strlen($body) > self::BODY_MAX) {
            return self::error(413, 'body over 1 MiB');
        }
        $doc = json_decode($body, false, 8);
        if (!($doc instanceof \stdClass) || !isset($doc->barcode) || !is_string($doc->barcode)
            || !Text::isId($doc->barcode)) {
            return self::error(400, 'not {"barcode": 1 to 63 printable ASCII characters}');
        }
        return $this->item($kiosk, $doc->barcode);
    }

    // ---- PHP's globals ----

    /** Sends a reply: JSON, no-store, on every status; nothing before it. */
    public static function emit(array $reply): void
    {
        [$status, $headers, $body] = $reply;
        while (ob_get_level() > 0) {
            ob_end_clean();
        }
        http_response_code($status);
        header('Content-Type: application/json; charset=utf-8');
        header('Cache-Control: no-store');
        header(self::SYNC_HEADER . ': ' . self::SYNC_VERSION);
        foreach ($headers as $name => $value) {
            header("$name: $value");
        }
        $json = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
        // A length, so that a proxy in front can keep the connection open.
        header("Content-Length: " . strlen($json));
        echo $json;
    }

    /** The Authorization header, wherever the web server put it. */
    public static function authorizationHeader(): ?string
    {
        foreach (['HTTP_AUTHORIZATION', 'REDIRECT_HTTP_AUTHORIZATION'] as $k) {
            if (isset($_SERVER[$k]) && is_string($_SERVER[$k])) {
                return $_SERVER[$k];
            }
        }
        if (function_exists('getallheaders')) {
            foreach (getallheaders() as $name => $value) {
                if (strcasecmp($name, 'Authorization') === 0) {
                    return $value;
                }
            }
        }
        return null;
    }

    /**
     * Answers the current request. $options: 'route' => 'query' (the route
     * in the 'p' parameter, SLiMS) or 'path' (in the URL's path);
     * 'prefix' => the shared tables' prefix; 'fault_dir' => a folder of
     * injected faults (test instances only).
     */
    public static function serve(\PDO $db, LibrarySystem $lib, array $options = []): void
    {
        $reply = null;
        $api = null;
        $store = null;
        try {
            $reply = Guard::run(function () use ($db, $lib, $options, &$api, &$store) {
                $db->setAttribute(\PDO::ATTR_ERRMODE, \PDO::ERRMODE_EXCEPTION);
                $store = new Store($db, $lib, $options['prefix'] ?? Schema::PREFIX);
                $fault = $options['fault_dir'] ?? null;
                $api = new self($store, $fault === '' ? null : $fault);
                // The query as the client sent it: from REQUEST_URI, which
                // SLiMS's sanitizer leaves percent-encoded and so unchanged.
                $uri = (string) ($_SERVER['REQUEST_URI'] ?? '');
                $q = strpos($uri, '?');
                $query = $q === false ? (string) ($_SERVER['QUERY_STRING'] ?? '') : substr($uri, $q + 1);
                $method = (string) ($_SERVER['REQUEST_METHOD'] ?? 'GET');
                $body = (string) file_get_contents('php://input', false, null, 0, self::BODY_MAX + 1);
                $sync = isset($_SERVER['HTTP_LOKERBUKU_SYNC']) && is_string($_SERVER['HTTP_LOKERBUKU_SYNC'])
                    ? $_SERVER['HTTP_LOKERBUKU_SYNC'] : null;
                if (($options['route'] ?? 'query') === 'path') {
                    return $api->handlePath($method, $q === false ? $uri : substr($uri, 0, $q), $query,
                        self::authorizationHeader(), $body, $sync);
                }
                return $api->handle($method, $query, self::authorizationHeader(), $body, $sync);
            });
        } catch (\Throwable $ex) {
            Guard::log($lib, 'API: ' . Guard::describe($ex));
            $reply = self::error(500, 'server error');
        }
        self::emit($reply);
        // Then, the kiosk answered, messages not sent before (mail down,
        // not configured yet) are tried again, a few at a time.
        if ($api !== null && $api->authenticated) {
            if (function_exists('fastcgi_finish_request')) {
                fastcgi_finish_request();
            }
            try {
                Guard::run(fn() => (new Notify($store))->retryDue());
            } catch (\Throwable $ex) {
                Guard::log($lib, 'retrying notifications: ' . Guard::describe($ex));
            }
        }
    }
}
