<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// INLISLite as the shared sync server (../common) sees a library system:
// members by MemberNo, items by NomorBarcode, INLISLite's staff users as
// the accounts kiosk loans are made by, circulation by its own rules
// (Circulation), the channels to patrons and a log for staff.

namespace Lokerbuku\Inlislite;

use Lokerbuku\Sync\Actor;
use Lokerbuku\Sync\Item;
use Lokerbuku\Sync\LibrarySystem;
use Lokerbuku\Sync\Member;
use Lokerbuku\Sync\Notice;
use Lokerbuku\Sync\Outcome;

final class Library implements LibrarySystem
{
    /** Rows kept in lokerbuku_log: the oldest go first. */
    public const LOG_MAX = 10000;

    /**
     * $notify: tells a patron of a loaded hold (fn(Notice): ?string, null
     * when told); null when no channel is set up. $defaultUser: the
     * INLISLite user (config create_by) of kiosks that name none.
     */
    public function __construct(private \PDO $db, private Circulation $circulation,
        private ?int $defaultUser = null, private ?\Closure $notify = null,
        private string $prefix = 'lokerbuku_')
    {
    }

    public function name(): string
    {
        return 'INLISLite';
    }

    public function circulation(): Circulation
    {
        return $this->circulation;
    }

    public function member(string $memberNo): ?Member
    {
        // One query: what stops any loan (status, expiry, a suspension).
        // The rest is checked per item at pickup.
        $st = $this->db->prepare('SELECT m.MemberNo, m.Fullname, m.Email, m.NoHp, m.Phone,'
            . ' m.StatusAnggota_id, DATE(m.EndDate) AS EndDate, (SELECT MAX(DATE(DATE_ADD(p.CreateDate,'
            . ' INTERVAL p.JumlahSuspend DAY))) FROM pelanggaran p WHERE p.Member_id = m.ID'
            . ' AND p.JumlahSuspend > 0) AS SuspendedUntil FROM members m WHERE m.MemberNo = ?'
            . ' ORDER BY m.ID DESC LIMIT 1');
        $st->execute([trim($memberNo)]);
        $m = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$m) {
            return null;
        }
        $today = substr($this->circulation->now(), 0, 10);
        $refusal = null;
        $status = (int) $m['StatusAnggota_id'];
        if ($m['SuspendedUntil'] !== null && strcmp($m['SuspendedUntil'], $today) > 0) {
            $refusal = Outcome::MEMBER_BLOCKED;
        } elseif ($status !== 3) {
            $refusal = in_array($status, [1, 2], true) ? Outcome::MEMBER_PENDING : Outcome::MEMBER_BLOCKED;
        } elseif ($m['EndDate'] === null || strcmp($m['EndDate'], $today) < 0) {
            $refusal = Outcome::MEMBER_EXPIRED;
        }
        $phone = trim((string) ($m['NoHp'] ?? '')) !== '' ? $m['NoHp'] : $m['Phone'];
        return new Member($m['MemberNo'], (string) $m['Fullname'],
            ($m['Email'] ?? '') !== '' ? $m['Email'] : null,
            ($phone ?? '') !== '' ? $phone : null, $refusal);
    }

    public function item(string $barcode): ?Item
    {
        $st = $this->db->prepare('SELECT c.NomorBarcode, c.Status_id, c.Rule_id, c.BookingMemberID,'
            . ' c.BookingExpiredDate > NOW() AS booked, cat.Title FROM collections c'
            . ' LEFT JOIN catalogs cat ON cat.ID = c.Catalog_id WHERE c.NomorBarcode = ?');
        $st->execute([trim($barcode)]);
        $r = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$r) {
            return null;
        }
        // An OPAC booking still running (3.x) puts its member first.
        $head = ((int) $r['booked'] && ($r['BookingMemberID'] ?? '') !== '') ? $r['BookingMemberID'] : null;
        return new Item($r['NomorBarcode'], $r['Title'], (int) $r['Rule_id'] === 1 && (int) $r['Status_id'] === 1,
            $head);
    }

    public function actor(?int $userId, string $kioskId): ?Actor
    {
        $userId ??= $this->defaultUser;
        if ($userId === null) {
            return null;
        }
        $u = $this->circulation->version()->staffUser($this->db, $userId);
        return $u === null ? null : new Actor($u['id'], $u['name'], ' at book locker ' . $kioskId);
    }

    /** INLISLite's CreateTerminal/UpdateTerminal for an actor: 'book locker <kiosk>'. */
    private static function terminal(Actor $actor): string
    {
        return substr(trim(preg_replace('/^\s*at\s+/', '', $actor->where)) ?: 'book locker', 0, 100);
    }

    public function checkOut(string $memberNo, array $barcodes, string $date, Actor $actor): array
    {
        $out = [];
        foreach ($this->circulation->checkOut($memberNo, $barcodes, $date, $actor->userId, self::terminal($actor))
            as $code => $r) {
            $out[$code] = isset($r['refused'])
                ? Outcome::refused($r['refused'])
                : Outcome::done("loan {$r['loan_id']} due " . substr($r['due'], 0, 10), $r);
        }
        return $out;
    }

    public function checkIn(string $barcode, string $date, Actor $actor): Outcome
    {
        $r = $this->circulation->checkIn($barcode, $date, $actor->userId, self::terminal($actor));
        if ($r === null) {
            return Outcome::refused(Outcome::NOT_ON_LOAN, 'not on loan');
        }
        // INLISLite never fines by itself: staff decide at the desk.
        return Outcome::done($r['late_days'] > 0
            ? "returned, {$r['late_days']} days late: fine or suspension for staff to decide"
            : 'returned', $r);
    }

    public function notify(Notice $notice): ?string
    {
        if ($this->notify === null) {
            return 'no channel to patrons is set up (config.php)';
        }
        try {
            return ($this->notify)($notice);
        } catch (\Throwable $ex) {
            return substr(get_class($ex) . ': ' . $ex->getMessage(), 0, 255);
        }
    }

    public function log(string $line, string $about = ''): void
    {
        error_log('lokerbuku: ' . ($about !== '' ? "$about: " : '') . $line);
        try {
            $t = $this->prefix . 'log';
            $this->db->prepare("INSERT INTO $t (at, about, line) VALUES (?, ?, ?)")
                ->execute([gmdate('Y-m-d H:i:s'), substr($about, 0, 63), substr($line, 0, 2000)]);
            $id = (int) $this->db->lastInsertId();
            if ($id % 100 === 0) {
                $this->db->prepare("DELETE FROM $t WHERE id <= ?")->execute([$id - self::LOG_MAX]);
            }
        } catch (\Throwable $ex) {
            error_log('lokerbuku: the log table failed too: ' . $ex->getMessage());
        }
    }

    /** The bridge's own tables beyond the shared ones: its log. */
    public static function tables(string $prefix = 'lokerbuku_'): array
    {
        return [$prefix . 'log' => "(
            id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
            at datetime NOT NULL,
            about varchar(63) NOT NULL DEFAULT '',
            line text NOT NULL,
            KEY at (at))"];
    }
}
