<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// What staff do with the shared tables: register kiosks, route items to
// a kiosk as holds, cancel them, enrol cards, set PINs, manage kiosk staff
// and queue remote commands. Every change a kiosk must hear of takes a
// number from the change sequence (see Api::changes()). SQL names the
// shared tables as {name}; sql() puts the prefix in. An integration may
// extend it with what is its own (SLiMS: routing its reservations).

namespace Lokerbuku\Sync;

class Store
{
    public const SIZES = ['small', 'medium', 'large'];
    public const COMMANDS = ['open_locker', 'disable_locker', 'enable_locker', 'unload_hold', 'sync_now',
        'resend_events'];
    /** How long an open_locker may wait for its kiosk: a door that opens long after staff asked is a risk. */
    public const OPEN_LOCKER_TTL_S = 300;
    public const ITEMS_MAX = 16;

    private Config $config;

    public function __construct(private \PDO $db, private LibrarySystem $lib, private string $prefix = Schema::PREFIX)
    {
        Schema::table($prefix, 'hold');
        $this->config = new Config($db, $prefix);
    }

    public function library(): LibrarySystem
    {
        return $this->lib;
    }

    public function prefix(): string
    {
        return $this->prefix;
    }

    /** The full name of a shared table ('hold' => 'lokerbuku_hold'). */
    public function table(string $name): string
    {
        return Schema::table($this->prefix, $name);
    }

    /** $sql with each {name} of a shared table replaced by its full name. */
    public function sql(string $sql): string
    {
        return preg_replace_callback('/\{([a-z_]+)\}/', fn($m) => $this->table($m[1]), $sql);
    }

    public function prepare(string $sql): \PDOStatement
    {
        return $this->db->prepare($this->sql($sql));
    }

    public function exec(string $sql): int
    {
        return (int) $this->db->exec($this->sql($sql));
    }

    public function query(string $sql): \PDOStatement
    {
        return $this->db->query($this->sql($sql));
    }

    public function db(): \PDO
    {
        return $this->db;
    }

    public function config(): Config
    {
        return $this->config;
    }

    public static function now(): string
    {
        return gmdate('Y-m-d H:i:s');
    }

    /** The next change sequence number; call inside a transaction. */
    public function nextSeq(): int
    {
        $this->exec('UPDATE {seq} SET value = LAST_INSERT_ID(value + 1) WHERE id = 1');
        return (int) $this->query('SELECT LAST_INSERT_ID()')->fetchColumn();
    }

    /** Runs $fn in one transaction (or in the caller's, if one is open). */
    public function transaction(callable $fn)
    {
        if ($this->db->inTransaction()) {
            return $fn();
        }
        $this->db->beginTransaction();
        try {
            $r = $fn();
            $this->db->commit();
            return $r;
        } catch (\Throwable $e) {
            if ($this->db->inTransaction()) {
                $this->db->rollBack();
            }
            throw $e;
        }
    }

    // ---- kiosks ----

    /**
     * Registers a kiosk; returns its new bearer token (shown once, stored
     * hashed). $userId: the library system's user its loans and returns are
     * made by (LibrarySystem::actor).
     */
    public function addKiosk(string $kioskId, string $name, int $userId, int $holdWindowDays = 7,
                             bool $pinRequired = true): string
    {
        if (!preg_match('/^[A-Za-z0-9._-]{1,63}$/', $kioskId)) {
            throw new \InvalidArgumentException('a kiosk id is 1 to 63 of A-Z a-z 0-9 . _ -');
        }
        $this->checkUser($userId, $kioskId);
        if ($this->kiosk($kioskId)) {
            throw new \InvalidArgumentException("kiosk $kioskId exists already");
        }
        $token = Credentials::newToken();
        $this->prepare('INSERT INTO {kiosk} (kiosk_id, name, token_sha256,'
            . ' pin_required, hold_window_days, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
            ->execute([$kioskId, Text::cut($name, 100), Credentials::tokenHash($token), (int) $pinRequired,
                max(1, min(365, $holdWindowDays)), $userId, self::now()]);
        return $token;
    }

    private function checkUser(int $userId, string $kioskId): void
    {
        if ($this->lib->actor($userId, $kioskId) === null) {
            throw new \InvalidArgumentException('no ' . $this->lib->name() . " user $userId");
        }
    }

    /** A new token for a kiosk (the old one stops working at once). */
    public function renewToken(string $kioskId): string
    {
        $token = Credentials::newToken();
        $st = $this->prepare('UPDATE {kiosk} SET token_sha256 = ? WHERE kiosk_id = ?');
        $st->execute([Credentials::tokenHash($token), $kioskId]);
        if ($st->rowCount() !== 1) {
            throw new \InvalidArgumentException("no kiosk $kioskId");
        }
        return $token;
    }

    /**
     * A kiosk's settings: its hold window (1 to 365 days), whether patrons
     * must give a PIN (kiosks get both with their next pull), the library
     * system's user its loans and returns are made by, and whether returns it scans
     * are checked in without staff.
     */
    public function setKioskSettings(string $kioskId, int $holdWindowDays, bool $pinRequired,
                                     ?int $userId = null, bool $autoCheckin = false): void
    {
        if ($holdWindowDays < 1 || $holdWindowDays > 365) {
            throw new \InvalidArgumentException('hold window: 1 to 365 days');
        }
        if (!$this->kiosk($kioskId)) {
            throw new \InvalidArgumentException("no kiosk $kioskId");
        }
        if ($userId !== null) {
            $this->checkUser($userId, $kioskId);
        }
        $this->transaction(function () use ($kioskId, $holdWindowDays, $pinRequired, $userId, $autoCheckin) {
            $this->prepare('UPDATE {kiosk} SET hold_window_days = ?, pin_required = ?,'
                . ' user_id = COALESCE(?, user_id), auto_checkin = ? WHERE kiosk_id = ?')
                ->execute([$holdWindowDays, (int) $pinRequired, $userId, (int) $autoCheckin, $kioskId]);
        });
    }

    /**
     * Kiosk staff, newest first (credential hashes only): 'credential',
     * 'name', 'role', 'kiosks' (the kiosk ids it is sent to; []: every
     * kiosk), 'iterations' (what a guess at its PIN costs).
     */
    public function staff(): array
    {
        $rows = $this->query('SELECT credential, name, role, pin_hash FROM {staff} WHERE removed = 0'
            . ' ORDER BY seq DESC')->fetchAll(\PDO::FETCH_ASSOC);
        $scopes = [];
        foreach ($this->query('SELECT credential, kiosk_id FROM {staff_kiosk} ORDER BY kiosk_id')
            ->fetchAll(\PDO::FETCH_ASSOC) as $r) {
            $scopes[$r['credential']][] = $r['kiosk_id'];
        }
        foreach ($rows as &$r) {
            $p = Credentials::pinHashParts($r['pin_hash']);
            $r['kiosks'] = $scopes[$r['credential']] ?? [];
            $r['iterations'] = $p === null ? 0 : $p['iterations'] + $p['more'];
            unset($r['pin_hash']);
        }
        return $rows;
    }

    /** The kiosk id a bearer token belongs to, or null (compared in constant time). */
    public function kioskOfToken(string $token): ?string
    {
        $hash = Credentials::tokenHash($token);
        $st = $this->prepare('SELECT kiosk_id, token_sha256 FROM {kiosk} WHERE token_sha256 = ?');
        $st->execute([$hash]);
        $row = $st->fetch(\PDO::FETCH_ASSOC);
        if ($row && hash_equals($row['token_sha256'], $hash)) {
            return $row['kiosk_id'];
        }
        return null;
    }

    public function kiosks(): array
    {
        return $this->query('SELECT kiosk_id, name, pin_required, hold_window_days, user_id, auto_checkin,'
            . ' last_status_at, last_status FROM {kiosk} ORDER BY kiosk_id')
            ->fetchAll(\PDO::FETCH_ASSOC);
    }

    public function kiosk(string $kioskId): ?array
    {
        $st = $this->prepare('SELECT * FROM {kiosk} WHERE kiosk_id = ?');
        $st->execute([$kioskId]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /**
     * Where a kiosk's last heartbeat and this server disagree on which
     * hold is in which locker (docs/sync-api.md, "Reconciliation"): one
     * line for staff per difference, to be checked at the kiosk, never
     * corrected here. [] also while the kiosk still had events to upload
     * (one on its way explains a difference) or sent no lockers.
     */
    public function lockerDifferences(string $kioskId): array
    {
        $k = $this->kiosk($kioskId);
        $s = $k === null || $k['last_status'] === null ? null : json_decode($k['last_status'], true);
        if (!is_array($s) || ($s['backlog'] ?? null) !== 0 || !is_array($s['lockers'] ?? null)) {
            return [];
        }
        $there = [];
        foreach ($s['lockers'] as $l) {
            if (is_array($l) && is_int($l['number'] ?? null) && is_string($l['hold'] ?? null)) {
                $there[$l['number']] = $l['hold'];
            }
        }
        $st = $this->prepare("SELECT hold_id, locker, state FROM {hold} WHERE kiosk_id = ?"
            . " AND state IN ('loaded', 'expired') ORDER BY hold_id");
        $st->execute([$kioskId]);
        $here = $out = [];
        foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $h) {
            $n = $h['locker'] === null ? null : (int) $h['locker'];
            $here[$h['hold_id']] = $n;
            if ($n === null || ($there[$n] ?? null) !== $h['hold_id']) {
                $out[] = "hold {$h['hold_id']} is in locker " . ($n ?? '?') . ' here, the kiosk has '
                    . ($n !== null && isset($there[$n]) ? "hold {$there[$n]}" : 'nothing') . ' there';
            }
        }
        foreach ($there as $n => $holdId) {
            if (!array_key_exists($holdId, $here) || $here[$holdId] !== $n) {
                $out[] = "locker $n: the kiosk has hold $holdId, here "
                    . (array_key_exists($holdId, $here) ? 'in locker ' . ($here[$holdId] ?? '?') : 'not in a locker');
            }
        }
        return $out;
    }

    // ---- routing holds ----

    /** The open (pending or loaded) hold a barcode is in, or null. */
    public function openHoldOf(string $barcode): ?string
    {
        $busy = $this->prepare("SELECT h.hold_id FROM {hold_item} hi JOIN {hold} h ON h.hold_id = hi.hold_id"
            . " WHERE hi.item_code = ? AND h.state IN ('pending', 'loaded') LIMIT 1");
        $busy->execute([$barcode]);
        $other = $busy->fetchColumn();
        return $other === false ? null : $other;
    }

    /**
     * Routes items to a kiosk for a member without a reservation (a
     * request staff took by WhatsApp or at the desk): refused when an item
     * is unknown, already in an open hold, or another member's
     * reservation of it is ahead. Returns the hold id ('<name>-I<n>').
     */
    public function routeItems(string $memberId, array $itemCodes, string $kioskId, string $size = 'small'): string
    {
        if (!in_array($size, self::SIZES, true)) {
            throw new \InvalidArgumentException('size: small, medium or large');
        }
        $itemCodes = array_values(array_unique(array_filter(array_map('trim', $itemCodes), 'strlen')));
        if (!$itemCodes || count($itemCodes) > self::ITEMS_MAX) {
            throw new \InvalidArgumentException('1 to 16 items make a hold');
        }
        return $this->transaction(function () use ($memberId, $itemCodes, $kioskId, $size) {
            if (!$this->kiosk($kioskId)) {
                throw new \InvalidArgumentException("no kiosk $kioskId");
            }
            // The number first: the sequence's row stays locked until the
            // commit, so that two routings of one item cannot both pass.
            $number = $this->nextSeq();
            if ($this->lib->member($memberId) === null) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            foreach ($itemCodes as $i => $typed) {
                // The barcode as the library has it (SLiMS compares them case-blind).
                $item = $this->lib->item($typed);
                if ($item === null || !Text::isId($item->barcode)) {
                    throw new \InvalidArgumentException("no item $typed");
                }
                $code = $item->barcode;
                $itemCodes[$i] = $code;
                if ($item->queueHead !== null && $item->queueHead !== $memberId) {
                    throw new \InvalidArgumentException("item $code: another member is ahead in the queue");
                }
                if ($other = $this->openHoldOf($code)) {
                    throw new \InvalidArgumentException("item $code is already in hold $other");
                }
            }
            $holdId = $this->lib->name() . '-I' . $number;
            $this->createHold($holdId, $memberId, $kioskId, $size, $itemCodes);
            return $holdId;
        });
    }

    /**
     * Makes a pending hold of $items (barcodes as stored, checked by the
     * caller) for a member on a kiosk, inside the caller's transaction.
     * $reserveId: the library's reservation it came from, if any.
     */
    public function createHold(string $holdId, string $memberId, string $kioskId, string $size, array $items,
                               ?int $reserveId = null): void
    {
        $code = null;
        $digits = $this->config->codeDigits();
        $codeHmac = $sealed = null;
        if ($digits > 0) {
            $key = $this->config->siteKey();
            $code = Credentials::pickupCode($digits);
            $codeHmac = Credentials::hmac($key, 'code:' . $code);
            $sealed = Credentials::seal($key, $code);
        }
        $this->prepare('INSERT INTO {hold} (hold_id, reserve_id, member_id, kiosk_id,'
            . ' size, state, code_hmac, code_sealed, change_seq, created_at)'
            . " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)")
            ->execute([$holdId, $reserveId, $memberId, $kioskId, $size, $codeHmac, $sealed,
                $this->nextSeq(), self::now()]);
        $ins = $this->prepare('INSERT INTO {hold_item} (hold_id, item_code) VALUES (?, ?)');
        foreach ($items as $item) {
            $ins->execute([$holdId, $item]);
        }
    }

    /**
     * Takes a hold away from its kiosk (cancelled): a pending one is
     * removed there; a loaded one stays for staff, who get an unload_hold
     * command.
     */
    public function cancelHold(string $holdId, string $reason = 'cancelled'): void
    {
        $this->transaction(function () use ($holdId, $reason) {
            $h = $this->hold($holdId, true);
            if (!$h || !in_array($h['state'], ['pending', 'loaded'], true)) {
                throw new \InvalidArgumentException("hold $holdId is not pending or loaded");
            }
            $this->prepare('INSERT INTO {removal} (seq, kiosk_id, hold_id) VALUES (?, ?, ?)')
                ->execute([$this->nextSeq(), $h['kiosk_id'], $holdId]);
            if ($h['state'] === 'loaded') {
                $this->addCommand($h['kiosk_id'], 'unload_hold', null, $holdId, Text::cut($reason, 127));
            }
            $this->prepare("UPDATE {hold} SET state = 'cancelled', finished_at = ?,"
                . ' note = ? WHERE hold_id = ?')
                ->execute([self::now(), Text::cut($reason, 255), $holdId]);
        });
    }

    public function hold(string $holdId, bool $forUpdate = false): ?array
    {
        $st = $this->prepare('SELECT * FROM {hold} WHERE hold_id = ?'
            . ($forUpdate ? ' FOR UPDATE' : ''));
        $st->execute([$holdId]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    public function holdItems(string $holdId): array
    {
        $st = $this->prepare('SELECT item_code FROM {hold_item} WHERE hold_id = ? ORDER BY item_code');
        $st->execute([$holdId]);
        return $st->fetchAll(\PDO::FETCH_COLUMN);
    }

    /**
     * The hold as the protocol sends it (changes, items) to a kiosk that
     * speaks v1.$minor: v1.1 adds a loaded hold's locker (reconciliation).
     */
    public function holdJson(array $h, int $minor = 0): array
    {
        $key = $this->config->siteKey();
        $member = $this->lib->member($h['member_id']);
        $credentials = [Credentials::hmac($key, Credentials::card($h['member_id']))];
        $cards = $this->prepare('SELECT uid_hmac FROM {card} WHERE member_id = ?'
            . ' ORDER BY enrolled_at DESC, uid_hmac LIMIT 3');
        $cards->execute([$h['member_id']]);
        foreach ($cards->fetchAll(\PDO::FETCH_COLUMN) as $c) {
            $credentials[] = $c;
        }
        $pin = $this->prepare('SELECT pin_hash FROM {member_pin} WHERE member_id = ?');
        $pin->execute([$h['member_id']]);
        $items = [];
        foreach ($this->holdItems($h['hold_id']) as $code) {
            $title = $this->lib->item($code)?->title;
            $items[] = ['barcode' => $code, 'title' => $title === null ? null : Text::cut($title, 255)];
        }
        $json = [
            'id' => $h['hold_id'],
            'size' => $h['size'],
            'patron_name' => $member === null ? '' : $member->firstName(),
            'credentials' => $credentials,
            'code' => $h['code_hmac'],
            'pin' => ($p = $pin->fetchColumn()) === false ? null : $p,
            'items' => $items,
            'expires_at' => $h['expires_at'] === null ? null
                : str_replace(' ', 'T', $h['expires_at']) . 'Z',
        ];
        if ($minor >= 1 && $h['state'] === 'loaded' && $h['locker'] !== null) {
            $json['locker'] = (int) $h['locker'];
        }
        return $json;
    }

    /** Makes a member's routed holds come to their kiosks again (credentials or PIN changed). */
    public function touchMemberHolds(string $memberId): void
    {
        $st = $this->prepare("SELECT hold_id FROM {hold} WHERE member_id = ?"
            . " AND state IN ('pending', 'loaded') FOR UPDATE");
        $st->execute([$memberId]);
        $up = $this->prepare('UPDATE {hold} SET change_seq = ? WHERE hold_id = ?');
        foreach ($st->fetchAll(\PDO::FETCH_COLUMN) as $id) {
            $up->execute([$this->nextSeq(), $id]);
        }
    }

    // ---- cards and PINs ----

    /** Enrols an NFC card (its UID as hex) for a member; only its HMAC is kept. */
    public function enrolCard(string $memberId, string $uidHex): string
    {
        $cred = Credentials::uid($uidHex);
        if ($cred === null) {
            throw new \InvalidArgumentException('a UID is 4, 7 or 10 bytes of hex');
        }
        return $this->enrolCardHmac($memberId, Credentials::hmac($this->config->siteKey(), $cred));
    }

    /** Enrols a card by its credential hash (as a kiosk in staff mode reports it). */
    public function enrolCardHmac(string $memberId, string $hmac): string
    {
        if (!preg_match('/^[0-9a-f]{64}$/', $hmac)) {
            throw new \InvalidArgumentException('not a credential hash');
        }
        return $this->transaction(function () use ($memberId, $hmac) {
            if ($this->lib->member($memberId) === null) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            $old = $this->prepare('SELECT member_id FROM {card} WHERE uid_hmac = ? FOR UPDATE');
            $old->execute([$hmac]);
            $previous = $old->fetchColumn();
            $this->prepare('REPLACE INTO {card} (uid_hmac, member_id, enrolled_at) VALUES (?, ?, ?)')
                ->execute([$hmac, $memberId, self::now()]);
            if ($previous !== false && $previous !== $memberId) {
                $this->touchMemberHolds($previous);
            }
            $this->touchMemberHolds($memberId);
            return $hmac;
        });
    }

    public function removeCard(string $hmac): void
    {
        $this->transaction(function () use ($hmac) {
            $old = $this->prepare('SELECT member_id FROM {card} WHERE uid_hmac = ? FOR UPDATE');
            $old->execute([$hmac]);
            if (($member = $old->fetchColumn()) !== false) {
                $this->prepare('DELETE FROM {card} WHERE uid_hmac = ?')->execute([$hmac]);
                $this->touchMemberHolds($member);
            }
        });
    }

    /**
     * Sets (or with null, clears) a member's kiosk PIN: 6 to 8 digits, its
     * own secret (set by the member in the OPAC or by staff), kept and
     * sent to kiosks only as a slow salted hash.
     */
    public function setMemberPin(string $memberId, ?string $pin): void
    {
        if ($pin !== null && !Credentials::isNewPin($pin)) {
            throw new \InvalidArgumentException('a kiosk PIN is ' . Credentials::NEW_PIN_MIN . ' to 8 digits');
        }
        $hash = $pin === null ? null : Credentials::pinHash($pin);
        $this->transaction(function () use ($memberId, $hash) {
            if ($this->lib->member($memberId) === null) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            if ($hash === null) {
                $this->prepare('DELETE FROM {member_pin} WHERE member_id = ?')->execute([$memberId]);
            } else {
                $this->prepare('REPLACE INTO {member_pin} (member_id, pin_hash, updated_at)'
                    . ' VALUES (?, ?, ?)')->execute([$memberId, $hash, self::now()]);
            }
            $this->touchMemberHolds($memberId);
        });
    }

    // ---- kiosk staff ----

    /**
     * Adds or changes a staff member of the kiosks: a card (card number or
     * UID) and a PIN, hashed with Credentials::STAFF_PIN_ITERATIONS.
     * $kiosks: the kiosks the card is sent to; null keeps the ones it has,
     * [] sends it to every kiosk (each then holds its PIN hash: see
     * docs/security.md, "Staff PINs"). Returns the credential hash.
     */
    public function setStaff(string $credential, string $pin, string $name = '', string $role = 'staff',
                             ?array $kiosks = null): string
    {
        if (!in_array($role, ['staff', 'admin'], true)) {
            throw new \InvalidArgumentException('role: staff or admin');
        }
        if (!Credentials::isNewPin($pin)) {
            throw new \InvalidArgumentException('a kiosk PIN is ' . Credentials::NEW_PIN_MIN . ' to 8 digits');
        }
        $hmac = Credentials::hmac($this->config->siteKey(), $credential);
        $hash = Credentials::pinHash($pin, null, Credentials::STAFF_PIN_ITERATIONS);
        $this->transaction(function () use ($hmac, $hash, $name, $role, $kiosks) {
            $this->prepare('REPLACE INTO {staff} (credential, name, pin_hash, role, removed, seq)'
                . ' VALUES (?, ?, ?, ?, 0, ?)')
                ->execute([$hmac, $name, $hash, $role, $this->nextSeq()]);
            if ($kiosks !== null) {
                $this->scopeStaff($hmac, $kiosks);
            }
        });
        return $hmac;
    }

    /**
     * The kiosks a staff card is sent to, from now on ([]: every kiosk);
     * kiosks it no longer goes to get it in removed_staff at their next
     * pull. At most 64 kiosks, each registered.
     */
    public function setStaffKiosks(string $hmac, array $kiosks): void
    {
        $this->transaction(function () use ($hmac, $kiosks) {
            $st = $this->prepare('SELECT 1 FROM {staff} WHERE credential = ? AND removed = 0 FOR UPDATE');
            $st->execute([$hmac]);
            if (!$st->fetchColumn()) {
                throw new \InvalidArgumentException('no such staff card');
            }
            $this->scopeStaff($hmac, $kiosks);
            $this->prepare('UPDATE {staff} SET seq = ? WHERE credential = ?')->execute([$this->nextSeq(), $hmac]);
        });
    }

    private function scopeStaff(string $hmac, array $kiosks): void
    {
        $kiosks = array_values(array_unique(array_map('strval', $kiosks)));
        if (count($kiosks) > 64) {
            throw new \InvalidArgumentException('a staff card serves at most 64 kiosks');
        }
        foreach ($kiosks as $k) {
            if (!$this->kiosk($k)) {
                throw new \InvalidArgumentException("no kiosk $k");
            }
        }
        $this->prepare('DELETE FROM {staff_kiosk} WHERE credential = ?')->execute([$hmac]);
        $ins = $this->prepare('INSERT INTO {staff_kiosk} (credential, kiosk_id) VALUES (?, ?)');
        foreach ($kiosks as $k) {
            $ins->execute([$hmac, $k]);
        }
    }

    /**
     * Makes every staff PIN hash that costs fewer than $iterations
     * costlier without its PIN (Credentials::pinHashUpgrade()); kiosks
     * get the new hashes at their next pull, only those that said
     * Lokerbuku-Sync: 1.1. Returns [upgraded, kept].
     */
    public function upgradeStaffPins(int $iterations = Credentials::STAFF_PIN_ITERATIONS): array
    {
        return $this->transaction(function () use ($iterations) {
            $rows = $this->query('SELECT credential, pin_hash FROM {staff} WHERE removed = 0 FOR UPDATE')
                ->fetchAll(\PDO::FETCH_ASSOC);
            $up = $this->prepare('UPDATE {staff} SET pin_hash = ?, seq = ? WHERE credential = ?');
            $upgraded = $kept = 0;
            foreach ($rows as $r) {
                $new = Credentials::pinHashParts($r['pin_hash']) === null ? null
                    : Credentials::pinHashUpgrade($r['pin_hash'], $iterations);
                if ($new === null) {
                    $kept++;
                    continue;
                }
                $up->execute([$new, $this->nextSeq(), $r['credential']]);
                $upgraded++;
            }
            return [$upgraded, $kept];
        });
    }

    public function removeStaff(string $hmac): void
    {
        $this->transaction(function () use ($hmac) {
            $this->prepare('UPDATE {staff} SET removed = 1, seq = ? WHERE credential = ?')
                ->execute([$this->nextSeq(), $hmac]);
        });
    }

    // ---- commands ----

    /**
     * Queues a remote command for a kiosk; returns its id. $expiresInS:
     * after that many seconds the command must not run (v1.1; null: an
     * open_locker gets OPEN_LOCKER_TTL_S, the others never expire; 0:
     * never). $fromSeq: resend_events' first event (null: one past the
     * newest this server has of the kiosk, as after a restore from a
     * backup). resend_events goes only to a kiosk that speaks sync v1.1.
     */
    public function addCommand(string $kioskId, string $type, ?int $locker = null,
                               ?string $holdId = null, ?string $reason = null, ?int $fromSeq = null,
                               ?int $expiresInS = null): string
    {
        if (!in_array($type, self::COMMANDS, true)) {
            throw new \InvalidArgumentException("unknown command $type");
        }
        if (in_array($type, ['open_locker', 'disable_locker', 'enable_locker'], true)
            && ($locker === null || $locker < 1 || $locker > 128)) {
            throw new \InvalidArgumentException('locker: 1 to 128');
        }
        if ($type === 'unload_hold' && ($holdId === null || !Text::isId($holdId))) {
            throw new \InvalidArgumentException('unload_hold needs a hold id');
        }
        if ($fromSeq !== null && ($type !== 'resend_events' || $fromSeq < 1)) {
            throw new \InvalidArgumentException('from_seq: 1 or more, for resend_events only');
        }
        if ($expiresInS !== null && ($expiresInS < 0 || $expiresInS > 86400)) {
            throw new \InvalidArgumentException('expires in: 0 to 86400 seconds');
        }
        if ($type === 'open_locker' && $expiresInS === 0) {
            throw new \InvalidArgumentException('an open_locker always expires');
        }
        $expiresInS ??= $type === 'open_locker' ? self::OPEN_LOCKER_TTL_S : 0;
        return $this->transaction(function () use ($kioskId, $type, $locker, $holdId, $reason, $fromSeq, $expiresInS) {
            if (!$this->kiosk($kioskId)) {
                throw new \InvalidArgumentException("no kiosk $kioskId");
            }
            if ($type === 'resend_events' && $fromSeq === null) {
                $st = $this->prepare('SELECT COALESCE(MAX(seq), 0) + 1 FROM {event} WHERE kiosk_id = ?');
                $st->execute([$kioskId]);
                $fromSeq = (int) $st->fetchColumn();
            }
            // Ids are never reused: the change sequence is a fine source.
            $id = 'c-' . $this->nextSeq();
            $this->prepare('INSERT INTO {command} (command_id, kiosk_id, type, locker,'
                . ' hold_id, reason, from_seq, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
                ->execute([$id, $kioskId, $type, $locker, $holdId,
                    $reason === null ? null : Text::cut($reason, 127), $fromSeq, self::now(),
                    $expiresInS > 0 ? gmdate('Y-m-d H:i:s', time() + $expiresInS) : null]);
            return $id;
        });
    }
}
