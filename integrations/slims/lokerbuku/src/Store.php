<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// What staff do with the plugin's tables: register kiosks, route
// reservations to a kiosk as holds, cancel them, enrol cards, set PINs,
// manage kiosk staff and queue remote commands. Every change a kiosk must
// hear of takes a number from the change sequence (see changes()).

namespace Lokerbuku\Slims;

final class Store
{
    public const SIZES = ['small', 'medium', 'large'];
    public const COMMANDS = ['open_locker', 'disable_locker', 'enable_locker', 'unload_hold', 'sync_now'];
    public const ITEMS_MAX = 16;

    private Config $config;

    public function __construct(private \PDO $db)
    {
        $this->config = new Config($db);
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
        $this->db->exec('UPDATE lokerbuku_seq SET value = LAST_INSERT_ID(value + 1) WHERE id = 1');
        return (int) $this->db->query('SELECT LAST_INSERT_ID()')->fetchColumn();
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
     * hashed). $userId: the SLiMS user its loans and returns are made by.
     */
    public function addKiosk(string $kioskId, string $name, int $userId, int $holdWindowDays = 7,
                             bool $pinRequired = false): string
    {
        if (!preg_match('/^[A-Za-z0-9._-]{1,63}$/', $kioskId)) {
            throw new \InvalidArgumentException('a kiosk id is 1 to 63 of A-Z a-z 0-9 . _ -');
        }
        $this->checkUser($userId);
        if ($this->kiosk($kioskId)) {
            throw new \InvalidArgumentException("kiosk $kioskId exists already");
        }
        $token = Credentials::newToken();
        $this->db->prepare('INSERT INTO lokerbuku_kiosk (kiosk_id, name, token_sha256,'
            . ' pin_required, hold_window_days, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
            ->execute([$kioskId, Text::cut($name, 100), Credentials::tokenHash($token), (int) $pinRequired,
                max(1, min(365, $holdWindowDays)), $userId, self::now()]);
        return $token;
    }

    private function checkUser(int $userId): void
    {
        $st = $this->db->prepare('SELECT 1 FROM user WHERE user_id = ?');
        $st->execute([$userId]);
        if (!$st->fetchColumn()) {
            throw new \InvalidArgumentException("no SLiMS user $userId");
        }
    }

    /** SLiMS's users (staff accounts): user_id => "realname (username)". */
    public function users(): array
    {
        $out = [];
        foreach ($this->db->query('SELECT user_id, username, realname FROM user ORDER BY realname, user_id LIMIT 1000')
            ->fetchAll(\PDO::FETCH_ASSOC) as $u) {
            $out[(int) $u['user_id']] = $u['realname'] . ' (' . $u['username'] . ')';
        }
        return $out;
    }

    /** A new token for a kiosk (the old one stops working at once). */
    public function renewToken(string $kioskId): string
    {
        $token = Credentials::newToken();
        $st = $this->db->prepare('UPDATE lokerbuku_kiosk SET token_sha256 = ? WHERE kiosk_id = ?');
        $st->execute([Credentials::tokenHash($token), $kioskId]);
        if ($st->rowCount() !== 1) {
            throw new \InvalidArgumentException("no kiosk $kioskId");
        }
        return $token;
    }

    /**
     * A kiosk's settings: its hold window (1 to 365 days), whether patrons
     * must give a PIN (kiosks get both with their next pull), the SLiMS
     * user its loans and returns are made by, and whether returns it scans
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
            $this->checkUser($userId);
        }
        $this->transaction(function () use ($kioskId, $holdWindowDays, $pinRequired, $userId, $autoCheckin) {
            $this->db->prepare('UPDATE lokerbuku_kiosk SET hold_window_days = ?, pin_required = ?,'
                . ' user_id = COALESCE(?, user_id), auto_checkin = ? WHERE kiosk_id = ?')
                ->execute([$holdWindowDays, (int) $pinRequired, $userId, (int) $autoCheckin, $kioskId]);
        });
    }

    /** Kiosk staff, newest first (credential hashes only). */
    public function staff(): array
    {
        return $this->db->query('SELECT credential, name, role FROM lokerbuku_staff WHERE removed = 0'
            . ' ORDER BY seq DESC')->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** The kiosk id a bearer token belongs to, or null (compared in constant time). */
    public function kioskOfToken(string $token): ?string
    {
        $hash = Credentials::tokenHash($token);
        $st = $this->db->prepare('SELECT kiosk_id, token_sha256 FROM lokerbuku_kiosk WHERE token_sha256 = ?');
        $st->execute([$hash]);
        $row = $st->fetch(\PDO::FETCH_ASSOC);
        if ($row && hash_equals($row['token_sha256'], $hash)) {
            return $row['kiosk_id'];
        }
        return null;
    }

    public function kiosks(): array
    {
        return $this->db->query('SELECT kiosk_id, name, pin_required, hold_window_days, user_id, auto_checkin,'
            . ' last_status_at, last_status FROM lokerbuku_kiosk ORDER BY kiosk_id')
            ->fetchAll(\PDO::FETCH_ASSOC);
    }

    public function kiosk(string $kioskId): ?array
    {
        $st = $this->db->prepare('SELECT * FROM lokerbuku_kiosk WHERE kiosk_id = ?');
        $st->execute([$kioskId]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    // ---- routing holds ----

    /**
     * Routes reservations to a kiosk as one hold (the items staff fetched
     * for one member): the hold appears on the kiosk for loading. Returns
     * the hold id ('SLiMS-<first reserve_id>'). Refuses a reservation that
     * is not at the head of its item's queue, or already routed.
     */
    public function routeReservations(array $reserveIds, string $kioskId, string $size = 'small'): string
    {
        if (!in_array($size, self::SIZES, true)) {
            throw new \InvalidArgumentException('size: small, medium or large');
        }
        $reserveIds = array_values(array_unique(array_map('intval', $reserveIds)));
        if (!$reserveIds || count($reserveIds) > self::ITEMS_MAX) {
            throw new \InvalidArgumentException('1 to 16 reservations make a hold');
        }
        return $this->transaction(function () use ($reserveIds, $kioskId, $size) {
            if (!$this->kiosk($kioskId)) {
                throw new \InvalidArgumentException("no kiosk $kioskId");
            }
            $member = null;
            $items = [];
            foreach ($reserveIds as $rid) {
                $st = $this->db->prepare('SELECT reserve_id, member_id, item_code, reserve_date'
                    . ' FROM reserve WHERE reserve_id = ? FOR UPDATE');
                $st->execute([$rid]);
                $r = $st->fetch(\PDO::FETCH_ASSOC);
                if (!$r) {
                    throw new \InvalidArgumentException("no reservation $rid");
                }
                if ($member !== null && $r['member_id'] !== $member) {
                    throw new \InvalidArgumentException('one hold is for one member');
                }
                $member = $r['member_id'];
                if (!Text::isId($r['item_code'])) {
                    throw new \InvalidArgumentException("reservation $rid: item code not usable as a barcode");
                }
                $ahead = $this->db->prepare('SELECT member_id FROM reserve WHERE item_code = ?'
                    . ' ORDER BY reserve_date, reserve_id LIMIT 1');
                $ahead->execute([$r['item_code']]);
                if ($ahead->fetchColumn() !== $member) {
                    throw new \InvalidArgumentException("reservation $rid: another member is ahead in the queue");
                }
                $busy = $this->db->prepare("SELECT h.hold_id FROM lokerbuku_hold_item hi"
                    . " JOIN lokerbuku_hold h ON h.hold_id = hi.hold_id"
                    . " WHERE hi.item_code = ? AND h.state IN ('pending', 'loaded')");
                $busy->execute([$r['item_code']]);
                if ($other = $busy->fetchColumn()) {
                    throw new \InvalidArgumentException("item {$r['item_code']} is already in hold $other");
                }
                $items[] = $r['item_code'];
            }
            $holdId = 'SLiMS-' . $reserveIds[0];
            $exists = $this->db->prepare('SELECT 1 FROM lokerbuku_hold WHERE hold_id = ?');
            $exists->execute([$holdId]);
            if ($exists->fetchColumn()) {
                // Hold ids are never reused: a second routing gets a suffix.
                $n = (int) $this->db->query("SELECT COUNT(*) FROM lokerbuku_hold WHERE hold_id LIKE "
                    . $this->db->quote($holdId . '-%'))->fetchColumn();
                $holdId .= '-' . ($n + 2);
            }
            $this->insertHold($holdId, $reserveIds[0], $member, $kioskId, $size, $items);
            return $holdId;
        });
    }

    /**
     * Routes items to a kiosk for a member without a reservation (a
     * request staff took by WhatsApp or at the desk): refused when an item
     * is unknown, already in an open hold, or another member's
     * reservation of it is ahead. Returns the hold id ('SLiMS-I<n>').
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
            $m = $this->db->prepare('SELECT 1 FROM member WHERE member_id = ?');
            $m->execute([$memberId]);
            if (!$m->fetchColumn()) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            foreach ($itemCodes as $n => $typed) {
                // The barcode as SLiMS has it (SLiMS compares them case-blind).
                $i = $this->db->prepare('SELECT item_code FROM item WHERE item_code = ? FOR UPDATE');
                $i->execute([$typed]);
                $code = $i->fetchColumn();
                if ($code === false || !Text::isId($code)) {
                    throw new \InvalidArgumentException("no item $typed");
                }
                $itemCodes[$n] = $code;
                $ahead = $this->db->prepare('SELECT member_id FROM reserve WHERE item_code = ?'
                    . ' ORDER BY reserve_date, reserve_id LIMIT 1');
                $ahead->execute([$code]);
                $first = $ahead->fetchColumn();
                if ($first !== false && $first !== $memberId) {
                    throw new \InvalidArgumentException("item $code: another member is ahead in the queue");
                }
                $busy = $this->db->prepare("SELECT h.hold_id FROM lokerbuku_hold_item hi"
                    . " JOIN lokerbuku_hold h ON h.hold_id = hi.hold_id"
                    . " WHERE hi.item_code = ? AND h.state IN ('pending', 'loaded')");
                $busy->execute([$code]);
                if ($other = $busy->fetchColumn()) {
                    throw new \InvalidArgumentException("item $code is already in hold $other");
                }
            }
            $holdId = 'SLiMS-I' . $this->nextSeq();
            $this->insertHold($holdId, null, $memberId, $kioskId, $size, $itemCodes);
            return $holdId;
        });
    }

    private function insertHold(string $holdId, ?int $reserveId, string $memberId,
                                string $kioskId, string $size, array $items): void
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
        $this->db->prepare('INSERT INTO lokerbuku_hold (hold_id, reserve_id, member_id, kiosk_id,'
            . ' size, state, code_hmac, code_sealed, change_seq, created_at)'
            . " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)")
            ->execute([$holdId, $reserveId, $memberId, $kioskId, $size, $codeHmac, $sealed,
                $this->nextSeq(), self::now()]);
        $ins = $this->db->prepare('INSERT INTO lokerbuku_hold_item (hold_id, item_code) VALUES (?, ?)');
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
            $this->db->prepare('INSERT INTO lokerbuku_removal (seq, kiosk_id, hold_id) VALUES (?, ?, ?)')
                ->execute([$this->nextSeq(), $h['kiosk_id'], $holdId]);
            if ($h['state'] === 'loaded') {
                $this->addCommand($h['kiosk_id'], 'unload_hold', null, $holdId, Text::cut($reason, 127));
            }
            $this->db->prepare("UPDATE lokerbuku_hold SET state = 'cancelled', finished_at = ?,"
                . ' note = ? WHERE hold_id = ?')
                ->execute([self::now(), Text::cut($reason, 255), $holdId]);
        });
    }

    public function hold(string $holdId, bool $forUpdate = false): ?array
    {
        $st = $this->db->prepare('SELECT * FROM lokerbuku_hold WHERE hold_id = ?'
            . ($forUpdate ? ' FOR UPDATE' : ''));
        $st->execute([$holdId]);
        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    public function holdItems(string $holdId): array
    {
        $st = $this->db->prepare('SELECT item_code FROM lokerbuku_hold_item WHERE hold_id = ? ORDER BY item_code');
        $st->execute([$holdId]);
        return $st->fetchAll(\PDO::FETCH_COLUMN);
    }

    /** The hold as the protocol sends it (changes, items). */
    public function holdJson(array $h): array
    {
        $key = $this->config->siteKey();
        $m = $this->db->prepare('SELECT member_name FROM member WHERE member_id = ?');
        $m->execute([$h['member_id']]);
        $name = (string) ($m->fetchColumn() ?: '');
        $credentials = [Credentials::hmac($key, Credentials::card($h['member_id']))];
        $cards = $this->db->prepare('SELECT uid_hmac FROM lokerbuku_card WHERE member_id = ?'
            . ' ORDER BY enrolled_at DESC, uid_hmac LIMIT 3');
        $cards->execute([$h['member_id']]);
        foreach ($cards->fetchAll(\PDO::FETCH_COLUMN) as $c) {
            $credentials[] = $c;
        }
        $pin = $this->db->prepare('SELECT pin_hash FROM lokerbuku_member_pin WHERE member_id = ?');
        $pin->execute([$h['member_id']]);
        $items = [];
        foreach ($this->holdItems($h['hold_id']) as $code) {
            $t = $this->db->prepare('SELECT b.title FROM item i JOIN biblio b ON b.biblio_id = i.biblio_id'
                . ' WHERE i.item_code = ?');
            $t->execute([$code]);
            $title = $t->fetchColumn();
            $items[] = ['barcode' => $code, 'title' => $title === false ? null : Text::cut($title, 255)];
        }
        return [
            'id' => $h['hold_id'],
            'size' => $h['size'],
            'patron_name' => Text::firstName($name),
            'credentials' => $credentials,
            'code' => $h['code_hmac'],
            'pin' => ($p = $pin->fetchColumn()) === false ? null : $p,
            'items' => $items,
            'expires_at' => $h['expires_at'] === null ? null
                : str_replace(' ', 'T', $h['expires_at']) . 'Z',
        ];
    }

    /** Makes a member's routed holds come to their kiosks again (credentials or PIN changed). */
    public function touchMemberHolds(string $memberId): void
    {
        $st = $this->db->prepare("SELECT hold_id FROM lokerbuku_hold WHERE member_id = ?"
            . " AND state IN ('pending', 'loaded') FOR UPDATE");
        $st->execute([$memberId]);
        $up = $this->db->prepare('UPDATE lokerbuku_hold SET change_seq = ? WHERE hold_id = ?');
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
            $m = $this->db->prepare('SELECT 1 FROM member WHERE member_id = ?');
            $m->execute([$memberId]);
            if (!$m->fetchColumn()) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            $old = $this->db->prepare('SELECT member_id FROM lokerbuku_card WHERE uid_hmac = ? FOR UPDATE');
            $old->execute([$hmac]);
            $previous = $old->fetchColumn();
            $this->db->prepare('REPLACE INTO lokerbuku_card (uid_hmac, member_id, enrolled_at) VALUES (?, ?, ?)')
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
            $old = $this->db->prepare('SELECT member_id FROM lokerbuku_card WHERE uid_hmac = ? FOR UPDATE');
            $old->execute([$hmac]);
            if (($member = $old->fetchColumn()) !== false) {
                $this->db->prepare('DELETE FROM lokerbuku_card WHERE uid_hmac = ?')->execute([$hmac]);
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
            $m = $this->db->prepare('SELECT 1 FROM member WHERE member_id = ?');
            $m->execute([$memberId]);
            if (!$m->fetchColumn()) {
                throw new \InvalidArgumentException("no member $memberId");
            }
            if ($hash === null) {
                $this->db->prepare('DELETE FROM lokerbuku_member_pin WHERE member_id = ?')->execute([$memberId]);
            } else {
                $this->db->prepare('REPLACE INTO lokerbuku_member_pin (member_id, pin_hash, updated_at)'
                    . ' VALUES (?, ?, ?)')->execute([$memberId, $hash, self::now()]);
            }
            $this->touchMemberHolds($memberId);
        });
    }

    // ---- kiosk staff ----

    /** Adds or changes a staff member of the kiosks: a card (card number or UID) and a PIN. */
    public function setStaff(string $credential, string $pin, string $name = '', string $role = 'staff'): string
    {
        if (!in_array($role, ['staff', 'admin'], true)) {
            throw new \InvalidArgumentException('role: staff or admin');
        }
        if (!Credentials::isNewPin($pin)) {
            throw new \InvalidArgumentException('a kiosk PIN is ' . Credentials::NEW_PIN_MIN . ' to 8 digits');
        }
        $hmac = Credentials::hmac($this->config->siteKey(), $credential);
        $this->transaction(function () use ($hmac, $pin, $name, $role) {
            $this->db->prepare('REPLACE INTO lokerbuku_staff (credential, name, pin_hash, role, removed, seq)'
                . ' VALUES (?, ?, ?, ?, 0, ?)')
                ->execute([$hmac, $name, Credentials::pinHash($pin), $role, $this->nextSeq()]);
        });
        return $hmac;
    }

    public function removeStaff(string $hmac): void
    {
        $this->transaction(function () use ($hmac) {
            $this->db->prepare('UPDATE lokerbuku_staff SET removed = 1, seq = ? WHERE credential = ?')
                ->execute([$this->nextSeq(), $hmac]);
        });
    }

    // ---- commands ----

    /** Queues a remote command for a kiosk; returns its id. */
    public function addCommand(string $kioskId, string $type, ?int $locker = null,
                               ?string $holdId = null, ?string $reason = null): string
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
        return $this->transaction(function () use ($kioskId, $type, $locker, $holdId, $reason) {
            // Ids are never reused: the change sequence is a fine source.
            $id = 'c-' . $this->nextSeq();
            $this->db->prepare('INSERT INTO lokerbuku_command (command_id, kiosk_id, type, locker,'
                . ' hold_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
                ->execute([$id, $kioskId, $type, $locker, $holdId,
                    $reason === null ? null : Text::cut($reason, 127), self::now()]);
            return $id;
        });
    }
}
