<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The patrons' messages, kept in tables of the bridge's own until each is
// delivered. The shared sync code hands over each loaded hold (take());
// holds of one member that arrive within a short gathering time (one
// kiosk upload) make one message, sent on every channel the library
// switched on that the member can be reached by. A channel that is down
// only delays its message: it is tried again 1 minute later, then
// doubling up to every 6 hours, until it is sent or its holds expired.
// Nothing is dropped without a row saying so, which staff see.

namespace Lokerbuku\Inlislite;

use Lokerbuku\Sync\Notice;

final class NotifyQueue
{
    public const TABLES = [
        // One row per message and channel. state: queued (to send at
        // next_at), sent, expired (its holds expired before it went),
        // unreachable (no address on any channel switched on).
        'lokerbuku_notify' => "(
            id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
            batch_key char(32) CHARACTER SET ascii NOT NULL,
            member_no varchar(63) NOT NULL,
            member_name varchar(255) NOT NULL DEFAULT '',
            channel varchar(8) CHARACTER SET ascii NOT NULL,
            address varchar(255) NOT NULL DEFAULT '',
            state varchar(12) CHARACTER SET ascii NOT NULL DEFAULT 'queued',
            tries int NOT NULL DEFAULT 0,
            next_at datetime NOT NULL,
            last_error varchar(255) NULL,
            created_at datetime NOT NULL,
            sent_at datetime NULL,
            UNIQUE KEY batch_channel (batch_key, channel),
            KEY due (state, next_at),
            KEY member_no (member_no))",
        // The holds a message tells of (a hold is told of once), with what
        // the message says of each; the pickup code sealed until sent.
        'lokerbuku_notify_hold' => "(
            hold_id varchar(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
            batch_key char(32) CHARACTER SET ascii NOT NULL,
            kiosk_name varchar(127) NOT NULL DEFAULT '',
            locker int NULL,
            items text NOT NULL,
            code_sealed varchar(255) CHARACTER SET ascii NULL,
            expires_at datetime NULL,
            KEY batch_key (batch_key))",
    ];

    /** Messages tried per call, so that no kiosk request or page waits long on a dead server. */
    public const BATCH = 3;
    /** First retry after this, doubling each time ... */
    public const RETRY_FIRST_S = 60;
    /** ... up to this. */
    public const RETRY_MAX_S = 6 * 3600;
    /** A message being sent is claimed for this long (a request that dies frees it then). */
    public const CLAIM_S = 300;

    /** @var array<string, NotifyChannel> */
    private array $channels = [];
    private \Closure $clock;

    /**
     * $channels: the channels switched on. $seal/$unseal: the pickup
     * code to and from its sealed form (Credentials::seal/unseal with the
     * site key); $unseal returns null when it cannot. $gatherS: how long
     * a member's first loaded hold waits for more of theirs. $clock: unix
     * seconds (time() unless a test injects it).
     */
    public function __construct(private \PDO $db, array $channels, private \Closure $seal,
                                private \Closure $unseal, private int $gatherS = 30,
                                private string $lang = 'id', private string $tz = 'Asia/Jakarta',
                                ?\Closure $clock = null)
    {
        foreach ($channels as $c) {
            $this->channels[$c->name()] = $c;
        }
        $this->clock = $clock ?? static fn(): int => time();
    }

    /**
     * The queue as config.php's 'notify' section sets it up: 'sms' (true:
     * INLISLite's Gammu outbox), 'email' (NotifyMail's SMTP settings),
     * 'whatsapp' (['url' => ..., 'token' => ...]), 'lang' ('id' or 'en'),
     * 'gather_s'. $siteKey: the site key's bytes, which seal the codes.
     */
    public static function fromConfig(\PDO $db, array $c, \Closure $siteKey, string $tz): self
    {
        $channels = [];
        if (!empty($c['sms'])) {
            $channels[] = new NotifySms($db);
        }
        if (!empty($c['email'])) {
            $channels[] = new NotifyMail((array) $c['email']);
        }
        if (!empty($c['whatsapp']['url'])) {
            $channels[] = new NotifyWhatsapp((string) $c['whatsapp']['url'], (string) ($c['whatsapp']['token'] ?? ''),
                (string) ($c['whatsapp']['country'] ?? '62'));
        }
        return new self($db, $channels,
            static fn(string $code): string => \Lokerbuku\Sync\Credentials::seal($siteKey(), $code),
            static fn(string $sealed): ?string => \Lokerbuku\Sync\Credentials::unseal($siteKey(), $sealed),
            max(0, min(600, (int) ($c['gather_s'] ?? 30))), ($c['lang'] ?? 'id') === 'en' ? 'en' : 'id', $tz);
    }

    /** The queue of a bridge, as its config.php's 'notify' section sets it up. */
    public static function ofBridge(Bridge $bridge): self
    {
        return self::fromConfig($bridge->db(), (array) $bridge->config('notify', []),
            static fn(): string => $bridge->store()->config()->siteKey(),
            (string) $bridge->config('timezone', 'Asia/Jakarta'));
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
     * Takes a loaded hold to tell its patron of (LibrarySystem::notify):
     * null once the message is queued for good (the shared code may then
     * forget the clear code), else why the patron cannot be told. Taking
     * the same hold again changes nothing.
     */
    public function take(Notice $n): ?string
    {
        $this->db->beginTransaction();
        try {
            $why = $this->queue($n);
            $this->db->commit();
            return $why;
        } catch (\Throwable $e) {
            $this->db->rollBack();
            throw $e;
        }
    }

    private function queue(Notice $n): ?string
    {
        $st = $this->db->prepare('SELECT n.state, n.last_error FROM lokerbuku_notify_hold h'
            . ' JOIN lokerbuku_notify n ON n.batch_key = h.batch_key WHERE h.hold_id = ? FOR UPDATE');
        $st->execute([$n->holdId]);
        $known = $st->fetchAll(\PDO::FETCH_ASSOC);
        if ($known) {
            return $known[0]['state'] === 'unreachable' ? $known[0]['last_error'] : null;
        }
        $contact = ['phone' => $n->member?->phone, 'email' => $n->member?->email];
        $addresses = [];
        foreach ($this->channels as $name => $c) {
            if (($a = $c->address($contact)) !== null) {
                $addresses[$name] = $a;
            }
        }
        // A message of this member still gathering holds (none tried yet).
        $st = $this->db->prepare("SELECT batch_key FROM lokerbuku_notify WHERE member_no = ? AND state = 'queued'"
            . ' AND tries = 0 AND next_at > ? ORDER BY id LIMIT 1 FOR UPDATE');
        $st->execute([$n->memberNo, $this->at()]);
        $key = $addresses ? $st->fetchColumn() : false;
        $why = null;
        if ($key === false) {
            $key = bin2hex(random_bytes(16));
            $ins = $this->db->prepare('INSERT INTO lokerbuku_notify (batch_key, member_no, member_name, channel,'
                . ' address, state, next_at, created_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
            $name = mb_strcut($n->member?->name ?? '', 0, 255, 'UTF-8');
            foreach ($addresses as $channel => $a) {
                $ins->execute([$key, $n->memberNo, $name, $channel, $a, 'queued', $this->at($this->gatherS),
                    $this->at(), null]);
            }
            if (!$addresses) {
                $why = $n->member === null ? 'the member is not in INLISLite any more'
                    : ($this->channels ? 'no ' . implode(' or ', array_map(fn($c) => $c === 'email' ? 'e-mail'
                        : ($c === 'sms' ? 'mobile number for SMS' : 'number for WhatsApp'),
                        array_keys($this->channels))) . ' for this member' : 'no channel to patrons is switched on');
                // Kept, so that staff see whom to phone.
                $ins->execute([$key, $n->memberNo, $name, 'none', '', 'unreachable', $this->at(), $this->at(),
                    $why]);
            }
        }
        $this->db->prepare('INSERT INTO lokerbuku_notify_hold (hold_id, batch_key, kiosk_name, locker, items,'
            . ' code_sealed, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
            ->execute([$n->holdId, $key, mb_strcut($n->kioskName !== '' ? $n->kioskName : $n->kioskId, 0, 127,
                'UTF-8'), $n->locker, json_encode($n->items, JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE),
                $n->pickupCode === null || $why !== null ? null : ($this->seal)($n->pickupCode), $n->expiresAt]);
        return $why;
    }

    /**
     * Sends up to $max messages that are due; each is claimed first, so
     * that two requests at once do not both send it. Returns how many
     * were sent. Never throws for a channel's failure.
     */
    public function deliverDue(int $max = self::BATCH): int
    {
        $now = $this->at();
        // Expired: every hold it tells of has expired.
        $this->db->prepare("UPDATE lokerbuku_notify n SET state = 'expired' WHERE state = 'queued' AND NOT EXISTS"
            . ' (SELECT 1 FROM lokerbuku_notify_hold h WHERE h.batch_key = n.batch_key AND (h.expires_at IS NULL'
            . ' OR h.expires_at > ?))')->execute([$now]);
        $this->forgetCodes();
        $st = $this->db->prepare("SELECT id FROM lokerbuku_notify WHERE state = 'queued' AND next_at <= ?"
            . ' ORDER BY next_at, id LIMIT ' . max(1, min(100, $max)));
        $st->execute([$now]);
        $claim = $this->db->prepare("UPDATE lokerbuku_notify SET next_at = ? WHERE id = ? AND state = 'queued'"
            . ' AND next_at <= ?');
        $sent = 0;
        foreach ($st->fetchAll(\PDO::FETCH_COLUMN) as $id) {
            $claim->execute([$this->at(self::CLAIM_S), $id, $now]);
            if ($claim->rowCount() === 1) {
                $sent += $this->attempt((int) $id) ? 1 : 0;
            }
        }
        return $sent;
    }

    /** Sealed codes of messages no channel will send any more. */
    private function forgetCodes(): void
    {
        $this->db->exec('UPDATE lokerbuku_notify_hold h SET code_sealed = NULL WHERE code_sealed IS NOT NULL'
            . " AND NOT EXISTS (SELECT 1 FROM lokerbuku_notify n WHERE n.batch_key = h.batch_key AND n.state = 'queued')");
    }

    /** One try of message $id (claimed by the caller): whether it was sent. */
    private function attempt(int $id): bool
    {
        $st = $this->db->prepare('SELECT * FROM lokerbuku_notify WHERE id = ?');
        $st->execute([$id]);
        $m = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$m || $m['state'] !== 'queued') {
            return false;
        }
        try {
            $c = $this->channels[$m['channel']] ?? null;
            if ($c === null) {
                throw new \RuntimeException("channel {$m['channel']} is switched off");
            }
            $h = $this->db->prepare('SELECT * FROM lokerbuku_notify_hold WHERE batch_key = ? AND (expires_at IS NULL'
                . ' OR expires_at > ?) ORDER BY kiosk_name, locker, hold_id');
            $h->execute([$m['batch_key'], $this->at()]);
            $holds = [];
            foreach ($h->fetchAll(\PDO::FETCH_ASSOC) as $r) {
                $code = null;
                if ($r['code_sealed'] !== null && ($code = ($this->unseal)($r['code_sealed'])) === null) {
                    throw new \RuntimeException('a pickup code cannot be unsealed (site key changed?)');
                }
                $holds[] = ['kiosk' => $r['kiosk_name'], 'locker' => $r['locker'] === null ? null : (int) $r['locker'],
                    'items' => json_decode($r['items'], true) ?: [], 'code' => $code, 'expires_at' => $r['expires_at']];
            }
            [$subject, $text, $short] = NotifyText::render($m['member_name'], $holds, $this->lang, $this->tz);
            $c->send($m['address'], $subject, $text, $short);
        } catch (\Throwable $e) {
            $tries = (int) $m['tries'] + 1;
            $wait = min(self::RETRY_MAX_S, self::RETRY_FIRST_S << min(20, $tries - 1));
            $this->db->prepare('UPDATE lokerbuku_notify SET tries = ?, next_at = ?, last_error = ? WHERE id = ?')
                ->execute([$tries, $this->at($wait), mb_strcut($e->getMessage(), 0, 255, 'UTF-8'), $id]);
            error_log("lokerbuku: message $id to member {$m['member_no']} by {$m['channel']} not sent,"
                . " trying again in {$wait} s: " . $e->getMessage());
            return false;
        }
        $this->db->prepare("UPDATE lokerbuku_notify SET state = 'sent', sent_at = ?, tries = tries + 1,"
            . ' last_error = NULL WHERE id = ?')->execute([$this->at(), $id]);
        $this->forgetCodes();
        return true;
    }

    /** Staff's "send again now": a queued message is tried at the next delivery. */
    public function retryNow(int $id): void
    {
        $st = $this->db->prepare("UPDATE lokerbuku_notify SET next_at = ? WHERE id = ? AND state = 'queued'");
        $st->execute([$this->at(), $id]);
        if ($st->rowCount() !== 1) {
            throw new \InvalidArgumentException("message $id is not waiting to be sent");
        }
    }

    /** The messages about a hold, one row per channel. */
    public function ofHold(string $holdId): array
    {
        $st = $this->db->prepare('SELECT n.id, n.channel, n.address, n.state, n.tries, n.next_at, n.last_error,'
            . ' n.sent_at FROM lokerbuku_notify_hold h JOIN lokerbuku_notify n ON n.batch_key = h.batch_key'
            . ' WHERE h.hold_id = ? ORDER BY n.id');
        $st->execute([$holdId]);
        return $st->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** Messages not sent (yet, or ever), for the staff page, oldest first. */
    public function unsent(int $limit = 200): array
    {
        return $this->db->query("SELECT id, member_no, member_name, channel, address, state, tries, next_at,"
            . " last_error, created_at FROM lokerbuku_notify WHERE state IN ('queued', 'unreachable', 'expired')"
            . ' ORDER BY created_at DESC, id DESC LIMIT ' . max(1, min(1000, $limit)))->fetchAll(\PDO::FETCH_ASSOC);
    }
}
