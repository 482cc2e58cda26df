<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Events a kiosk uploads (POST .../events): each one in its own database
// transaction together with its id, so that it is applied exactly once;
// hold events drive the holds and the library system's circulation
// (LibrarySystem::checkOut, checkIn) inside that transaction.

namespace Lokerbuku\Sync;

final class Events
{
    public const HOLD_TYPES = ['hold_loaded', 'hold_picked_up', 'hold_unloaded', 'hold_expired'];
    /** Types staff should look at. */
    public const ALARMS = ['locker_fault', 'door_forced_open', 'door_left_open', 'pin_lockout', 'hold_expired'];
    /** How the outcome of a deposited return waiting for staff begins. */
    public const AWAITS_CHECKIN = 'books await check-in';
    /** The most barcodes staff check in from one return compartment at once. */
    public const CHECKIN_MAX = 64;

    private LibrarySystem $lib;
    /** Holds loaded by the events of this batch: notified after commit. */
    private array $loaded = [];

    public function __construct(private Store $store)
    {
        $this->lib = $store->library();
    }

    public static function isUuid($s): bool
    {
        return is_string($s) && preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/', $s);
    }

    /** An RFC 3339 UTC time ('Z') as 'Y-m-d H:i:s.v' UTC, or null. */
    public static function parseTime($s): ?string
    {
        if (!is_string($s) || !preg_match('/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/', $s, $m)) {
            return null;
        }
        $t = \DateTimeImmutable::createFromFormat('!Y-m-d H:i:s', "$m[1] $m[2]", new \DateTimeZone('UTC'));
        if (!$t || $t->format('Y-m-d H:i:s') !== "$m[1] $m[2]") {
            return null;
        }
        $ms = isset($m[3]) ? substr($m[3] . '000', 1, 3) : '000';
        return $t->format('Y-m-d H:i:s') . '.' . $ms;
    }

    /** The library's calendar day (PHP's time zone, as the library system uses) of a UTC time. */
    public static function localDate(string $utc): string
    {
        return (new \DateTimeImmutable(substr($utc, 0, 19), new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone(date_default_timezone_get()))->format('Y-m-d');
    }

    /** The minor version of the API the kiosk said it speaks in this upload (1: v1.1). */
    private int $minor = 0;
    /** What the library system refused of the event being taken: [code, text], or null. */
    private ?array $refusal = null;

    /**
     * The results of a checked batch: $events are objects with a UUID id.
     * Stops early (the rest are sent again) when the database fails after
     * at least one result; throws when it fails at the first.
     */
    public function take(string $kioskId, array $events, int $minor = 0): array
    {
        $this->minor = $minor;
        $order = [];
        foreach ($events as $i => $e) {
            $seq = (isset($e->seq) && is_int($e->seq)) ? $e->seq : PHP_INT_MIN;
            $order[] = [$seq, $i, $e];
        }
        usort($order, fn($a, $b) => [$a[0], $a[1]] <=> [$b[0], $b[1]]);
        $results = $seen = [];
        foreach ($order as [, , $e]) {
            if (isset($seen[$e->id])) {
                continue;
            }
            $seen[$e->id] = true;
            try {
                $results[] = $this->takeOne($kioskId, $e);
            } catch (\PDOException $ex) {
                error_log("lokerbuku: event {$e->id} of $kioskId: " . $ex->getMessage());
                if (!$results) {
                    throw $ex;
                }
                break;
            }
        }
        $this->notifyLoaded();
        return $results;
    }

    /** Why an event cannot be accepted ('invalid: ...'), or null. */
    private function invalid(object $e): ?string
    {
        if (!isset($e->seq) || !is_int($e->seq) || $e->seq < 1) {
            return 'invalid: seq is not an integer of 1 or more';
        }
        if (!isset($e->type) || !is_string($e->type) || !preg_match('/^[a-z0-9_]{1,63}$/', $e->type)) {
            return 'invalid: type';
        }
        if (self::parseTime($e->at ?? null) === null) {
            return 'invalid: at is not a time';
        }
        if (!isset($e->payload) || !($e->payload instanceof \stdClass)) {
            return 'invalid: payload is not an object';
        }
        $p = $e->payload;
        if (isset($p->locker) && (!is_int($p->locker) || $p->locker < 1 || $p->locker > 128)) {
            return 'invalid: locker';
        }
        if (in_array($e->type, self::HOLD_TYPES, true)
            && (!isset($p->hold_id) || !is_string($p->hold_id) || !Text::isId($p->hold_id))) {
            return 'invalid: hold_id';
        }
        foreach (['items', 'left'] as $f) {
            if (!isset($p->$f)) {
                continue;
            }
            if (!is_array($p->$f)) {
                return "invalid: $f";
            }
            foreach ($p->$f as $it) {
                if (!($it instanceof \stdClass) || !isset($it->barcode) || !is_string($it->barcode)
                    || !Text::isId($it->barcode)) {
                    return "invalid: $f";
                }
            }
        }
        return null;
    }

    private function takeOne(string $kioskId, object $e): array
    {
        $db = $this->store->db();
        $dup = $this->store->prepare('SELECT 1 FROM {event} WHERE event_id = ?');
        $dup->execute([$e->id]);
        if ($dup->fetchColumn()) {
            return ['id' => $e->id, 'status' => 'duplicate'];
        }
        if ($why = $this->invalid($e)) {
            return ['id' => $e->id, 'status' => 'rejected', 'reason' => $why];
        }
        $at = self::parseTime($e->at);
        $db->beginTransaction();
        try {
            $hold = null;
            if (in_array($e->type, self::HOLD_TYPES, true)) {
                $hold = $this->routedHere($kioskId, $e->payload->hold_id);
                if (!$hold) {
                    $db->rollBack();
                    return ['id' => $e->id, 'status' => 'rejected', 'reason' => 'unknown_hold'];
                }
            }
            // The id first: a second upload of it running at the same time
            // waits here, then finds it taken.
            try {
                $this->store->prepare('INSERT INTO {event} (event_id, kiosk_id, seq, type, at, payload,'
                    . ' received_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
                    ->execute([$e->id, $kioskId, $e->seq, $e->type, $at,
                        json_encode($e->payload, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE),
                        gmdate('Y-m-d H:i:s') . '.000']);
            } catch (\PDOException $ex) {
                if (($ex->errorInfo[1] ?? 0) === 1062) {
                    $db->rollBack();
                    return ['id' => $e->id, 'status' => 'duplicate'];
                }
                throw $ex;
            }
            $this->refusal = null;
            [$outcome, $attention] = $this->apply($kioskId, $e, $at, $hold);
            if ($outcome !== null || $attention) {
                $this->store->prepare('UPDATE {event} SET outcome = ?, attention = ? WHERE event_id = ?')
                    ->execute([$outcome, (int) $attention, $e->id]);
            }
            $db->commit();
        } catch (\Throwable $ex) {
            if ($db->inTransaction()) {
                $db->rollBack();
            }
            throw $ex;
        }
        $result = ['id' => $e->id, 'status' => 'accepted'];
        if ($this->minor >= 1 && $this->refusal !== null) {
            // v1.1: the books are gone all the same; the kiosk's staff learn it too.
            $result['refused'] = ['code' => $this->refusal[0], 'text' => Text::cut($this->refusal[1], 127)];
        }
        return $result;
    }

    /** The hold, if it is routed to this kiosk now or was before it was taken away. */
    private function routedHere(string $kioskId, string $holdId): ?array
    {
        $h = $this->store->hold($holdId, true);
        if (!$h) {
            return null;
        }
        if ($h['kiosk_id'] === $kioskId) {
            return $h;
        }
        $st = $this->store->prepare('SELECT 1 FROM {removal} WHERE kiosk_id = ? AND hold_id = ?');
        $st->execute([$kioskId, $holdId]);
        return $st->fetchColumn() ? $h : null;
    }

    /** Does what the event means; returns [outcome text or null, whether staff should look]. */
    private function apply(string $kioskId, object $e, string $at, ?array $hold): array
    {
        $p = $e->payload;
        $db = $this->store->db();
        switch ($e->type) {
        case 'hold_loaded':
            if ($hold['state'] === 'pending' && $hold['kiosk_id'] === $kioskId) {
                $k = $this->store->kiosk($kioskId);
                $expires = (new \DateTimeImmutable(substr($at, 0, 19), new \DateTimeZone('UTC')))
                    ->modify('+' . (int) $k['hold_window_days'] . ' day')->format('Y-m-d H:i:s');
                $this->store->prepare("UPDATE {hold} SET state = 'loaded', locker = ?, ready_since = ?,"
                    . " expires_at = ?, change_seq = ?, notify_state = 'due', notify_next_at = ? WHERE hold_id = ?")
                    // This request notifies after the commit; others retry
                    // it only if that has not happened 10 minutes on.
                    ->execute([$p->locker ?? null, $at, $expires, $this->store->nextSeq(),
                        gmdate('Y-m-d H:i:s', time() + 600), $hold['hold_id']]);
                $this->loaded[] = $hold['hold_id'];
                return [null, false];
            }
            if (in_array($hold['state'], ['cancelled'], true) || $hold['kiosk_id'] !== $kioskId) {
                // Loaded while it was being taken away: staff take it out.
                $this->store->prepare('UPDATE {hold} SET locker = ? WHERE hold_id = ?')
                    ->execute([$p->locker ?? null, $hold['hold_id']]);
                $this->store->addCommand($kioskId, 'unload_hold', null, $hold['hold_id'],
                    'loaded after it was taken away');
                return ['loaded after it was taken away: unload_hold sent', true];
            }
            return [null, false];
        case 'hold_picked_up':
            if ($hold['state'] === 'picked_up') {
                return ['already picked up', false];
            }
            // The server decides what is lent: the hold's items; the kiosk
            // may name fewer of them (not all taken), never others.
            $ofHold = $this->store->holdItems($hold['hold_id']);
            $items = $refused = [];
            foreach ($p->items ?? [] as $it) {
                $code = $this->inHold($it->barcode, $ofHold);
                if ($code === null) {
                    $refused[] = "{$it->barcode}: not_in_hold";
                } elseif (!in_array($code, $items, true)) {
                    $items[] = $code;
                }
            }
            // v1.1 partial pickup: the books the patron left in the locker
            // stay on hold there; a barcode outside the hold is ignored.
            $left = [];
            foreach (isset($p->left) && is_array($p->left) ? $p->left : [] as $it) {
                $code = $this->inHold($it->barcode, $ofHold);
                if ($code === null) {
                    $refused[] = "{$it->barcode}: not_in_hold (left)";
                } elseif (!in_array($code, $left, true)) {
                    $left[] = $code;
                }
            }
            if (!isset($p->items) || !$p->items) {
                $items = array_values(array_diff($ofHold, $left));
            }
            // A book in both is taken: the books are gone.
            $left = array_values(array_diff($left, $items));
            $lines = [];
            $actor = $this->kioskActor($kioskId);
            $res = [];
            if ($items && $actor === null) {
                $res = array_fill_keys($items, Outcome::refused(Outcome::NO_ACTOR));
            } elseif ($items) {
                $res = $this->lib->checkOut($hold['member_id'], $items, self::localDate($at), $actor);
            }
            $refusedCode = $refused ? Outcome::NOT_IN_HOLD : null;
            foreach ($items as $code) {
                // Each item an outcome: one the library left out is refused, never lost.
                $r = $res[$code] ?? Outcome::refused('no_outcome', 'no outcome from ' . $this->lib->name());
                if ($r->done) {
                    $lines[] = "$code: {$r->text}";
                } else {
                    $refused[] = "$code: {$r->text}";
                    // The library's own refusal names the case before a stray barcode does.
                    $refusedCode = $refusedCode === null || $refusedCode === Outcome::NOT_IN_HOLD ? $r->code : $refusedCode;
                }
            }
            if ($refused) {
                $this->refusal = [$refusedCode, preg_replace('/[\x00-\x1f\x7f]/', ' ', implode('; ', $refused))];
            }
            if ($left) {
                // The hold waits on with the books left, in the same
                // locker, until its expires_at; what was taken is no
                // longer in it (sent again, it lists only the rest).
                $lines[] = 'left in the locker: ' . implode(', ', $left);
                $note = implode('; ', array_merge($lines, $refused));
                $drop = $this->store->prepare('DELETE FROM {hold_item} WHERE hold_id = ? AND item_code = ?');
                foreach (array_diff($ofHold, $left) as $code) {
                    $drop->execute([$hold['hold_id'], $code]);
                }
                $this->store->prepare('UPDATE {hold} SET note = ? WHERE hold_id = ?')
                    ->execute([Text::cut($note, 2000), $hold['hold_id']]);
                return [$note, (bool) $refused];
            }
            $note = implode('; ', array_merge($lines, $refused));
            $this->store->prepare("UPDATE {hold} SET state = 'picked_up', finished_at = ?,"
                . ' locker = COALESCE(?, locker), note = ? WHERE hold_id = ?')
                ->execute([$at, $p->locker ?? null, Text::cut($note, 2000), $hold['hold_id']]);
            return [$note, (bool) $refused];
        case 'hold_unloaded':
            if (!in_array($hold['state'], ['picked_up', 'cancelled'], true)) {
                $this->store->prepare("UPDATE {hold} SET state = 'unloaded', finished_at = ? WHERE hold_id = ?")
                    ->execute([$at, $hold['hold_id']]);
            }
            return [null, false];
        case 'hold_expired':
            if ($hold['state'] === 'loaded') {
                $this->store->prepare("UPDATE {hold} SET state = 'expired', finished_at = ? WHERE hold_id = ?")
                    ->execute([$at, $hold['hold_id']]);
            }
            return ['not collected: staff to unload it', true];
        case 'return_deposited':
            // A task for staff (Returns to check in), unless the kiosk is
            // trusted to check in what it scanned: then only items on
            // loan, in the name of the kiosk's user in the library system.
            $codes = [];
            foreach ($p->items ?? [] as $it) {
                $codes[] = $it->barcode;
            }
            $k = $this->store->kiosk($kioskId);
            if (!$codes || !(int) $k['auto_checkin']) {
                return [self::AWAITS_CHECKIN . ' from locker ' . ($p->locker ?? '?')
                    . ($codes ? ': ' . implode(', ', $codes) : ''), true];
            }
            $actor = $this->kioskActor($kioskId);
            if ($actor === null) {
                return ['not checked in (no ' . $this->lib->name() . ' user for this kiosk): '
                    . implode(', ', $codes), true];
            }
            [$lines, $attention] = $this->checkIn($codes, self::localDate($at), $actor);
            return [implode('; ', $lines), $attention];
        default:
            return [null, in_array($e->type, self::ALARMS, true)];
        }
    }

    /** The hold's own barcode that $barcode names (compared case-blind, as SLiMS does), or null. */
    private function inHold(string $barcode, array $ofHold): ?string
    {
        foreach ($ofHold as $code) {
            if (strcasecmp($code, $barcode) === 0) {
                return $code;
            }
        }
        return null;
    }

    /** The library system's user a kiosk's loans and returns are made by, or null. */
    private function kioskActor(string $kioskId): ?Actor
    {
        $k = $this->store->kiosk($kioskId);
        return $this->lib->actor($k['user_id'] === null ? null : (int) $k['user_id'], $kioskId);
    }

    /**
     * Checks in items on loan as of $date by $actor: [lines, whether staff
     * should look (an item was not on loan)].
     */
    public function checkIn(array $codes, string $date, Actor $actor): array
    {
        $lines = [];
        $attention = false;
        foreach ($codes as $code) {
            $r = $this->lib->checkIn($code, $date, $actor);
            $lines[] = "$code: {$r->text}";
            $attention = $attention || !$r->done;
        }
        return [$lines, $attention];
    }

    /**
     * Returns deposited at kiosks that staff have still to check in,
     * oldest first: ['event_id', 'kiosk_id', 'at' (UTC), 'locker' (int or
     * null), 'items' (the barcodes the kiosk scanned, maybe none)].
     */
    public function returnsWaiting(int $limit = 200): array
    {
        $st = $this->store->prepare("SELECT event_id, kiosk_id, at, payload FROM {event}"
            . " WHERE type = 'return_deposited' AND attention = 1 AND outcome LIKE ? ORDER BY at, event_id LIMIT ?");
        $st->bindValue(1, self::AWAITS_CHECKIN . '%');
        $st->bindValue(2, max(1, $limit), \PDO::PARAM_INT);
        $st->execute();
        $out = [];
        foreach ($st->fetchAll(\PDO::FETCH_ASSOC) as $e) {
            $p = json_decode((string) $e['payload'], true);
            $codes = [];
            foreach (is_array($p) && is_array($p['items'] ?? null) ? $p['items'] : [] as $it) {
                if (is_array($it) && is_string($it['barcode'] ?? null)) {
                    $codes[] = $it['barcode'];
                }
            }
            $out[] = ['event_id' => $e['event_id'], 'kiosk_id' => $e['kiosk_id'], 'at' => $e['at'],
                'locker' => is_array($p) && is_int($p['locker'] ?? null) ? $p['locker'] : null, 'items' => $codes];
        }
        return $out;
    }

    /**
     * Staff check in the books of a deposited return: the barcodes they
     * took out of the return compartment, as of $date, in the name of
     * the library system's user $userId (the staff member signed in), in
     * one transaction that also closes the task, so two staff pressing at
     * once check in once. Returns [barcode => Outcome]. Throws
     * \InvalidArgumentException when no such return waits, the barcodes
     * are not 1 to CHECKIN_MAX, or $userId names no user.
     */
    public function checkInReturn(string $eventId, array $codes, string $date, int $userId): array
    {
        $codes = array_values(array_unique(array_filter(array_map('trim', $codes), 'strlen')));
        if (!$codes || count($codes) > self::CHECKIN_MAX) {
            throw new \InvalidArgumentException('give the barcodes of the returned books (1 to '
                . self::CHECKIN_MAX . ')');
        }
        return $this->store->transaction(function () use ($eventId, $codes, $date, $userId) {
            $st = $this->store->prepare("SELECT kiosk_id FROM {event} WHERE event_id = ? AND type = 'return_deposited'"
                . ' AND attention = 1 AND outcome LIKE ? FOR UPDATE');
            $st->execute([$eventId, self::AWAITS_CHECKIN . '%']);
            $kiosk = $st->fetchColumn();
            if ($kiosk === false) {
                throw new \InvalidArgumentException('no such return waits');
            }
            $actor = $this->lib->actor($userId, $kiosk);
            if ($actor === null) {
                throw new \InvalidArgumentException("no {$this->lib->name()} user $userId");
            }
            $out = $lines = [];
            foreach ($codes as $code) {
                $out[$code] = $this->lib->checkIn($code, $date, $actor);
                $lines[] = "$code: {$out[$code]->text}";
            }
            $this->store->prepare('UPDATE {event} SET attention = 2, outcome = ? WHERE event_id = ?')
                ->execute([Text::cut('checked in by staff: ' . implode('; ', $lines), 2000), $eventId]);
            return $out;
        });
    }

    private function notifyLoaded(): void
    {
        $loaded = $this->loaded;
        $this->loaded = [];
        foreach ($loaded as $holdId) {
            // Notify keeps its own failures (the hold shows "patron not
            // notified"); nothing of it may undo the accepted event.
            try {
                (new Notify($this->store))->send($holdId);
            } catch (\Throwable $ex) {
                Guard::log($this->lib, "notifying hold $holdId: " . Guard::describe($ex), $holdId);
            }
        }
    }
}
