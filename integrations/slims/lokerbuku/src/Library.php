<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// SLiMS as the library system of the shared sync server (Lokerbuku\Sync):
// its members, items and users, its circulation rules (Circulation), the
// hook 'lokerbuku_hold_loaded' for notification plugins (WhatsApp, SMS
// ...) and then one e-mail through SLiMS's own mailer, and its System Log.

namespace Lokerbuku\Slims;

use Lokerbuku\Sync\Actor;
use Lokerbuku\Sync\Config;
use Lokerbuku\Sync\Guard;
use Lokerbuku\Sync\Item;
use Lokerbuku\Sync\LibrarySystem;
use Lokerbuku\Sync\Member;
use Lokerbuku\Sync\Notice;
use Lokerbuku\Sync\Outcome;
use Lokerbuku\Sync\Text;

final class Library implements LibrarySystem
{
    /** The SLiMS hook fired for every loaded hold, with an \ArrayObject (see notify()). */
    public const HOOK = 'lokerbuku_hold_loaded';

    private Circulation $circulation;

    public function __construct(private \PDO $db)
    {
        $this->circulation = new Circulation($db);
    }

    public function circulation(): Circulation
    {
        return $this->circulation;
    }

    public function name(): string
    {
        return 'SLiMS';
    }

    public function member(string $memberNo): ?Member
    {
        $st = $this->db->prepare('SELECT member_id, member_name, member_email, member_phone, expire_date, is_pending'
            . ' FROM member WHERE member_id = ?');
        $st->execute([$memberNo]);
        $m = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$m) {
            return null;
        }
        $refusal = null;
        if ((int) $m['is_pending']) {
            $refusal = Outcome::MEMBER_PENDING;
        } elseif ($m['expire_date'] !== null && strcmp($m['expire_date'], date('Y-m-d')) < 0) {
            $refusal = Outcome::MEMBER_EXPIRED;
        }
        return new Member((string) $m['member_id'], (string) $m['member_name'], $m['member_email'],
            $m['member_phone'], $refusal);
    }

    public function item(string $barcode): ?Item
    {
        $st = $this->db->prepare('SELECT i.item_code, b.title, s.no_loan,'
            . ' (SELECT r.member_id FROM reserve r WHERE r.item_code = i.item_code'
            . ' ORDER BY r.reserve_date, r.reserve_id LIMIT 1) AS queue_head'
            . ' FROM item i LEFT JOIN biblio b ON b.biblio_id = i.biblio_id'
            . ' LEFT JOIN mst_item_status s ON s.item_status_id = i.item_status_id WHERE i.item_code = ?');
        $st->execute([$barcode]);
        $i = $st->fetch(\PDO::FETCH_ASSOC);
        if (!$i) {
            return null;
        }
        return new Item((string) $i['item_code'], $i['title'], !(int) $i['no_loan'],
            $i['queue_head'] === null ? null : (string) $i['queue_head']);
    }

    public function actor(?int $userId, string $kioskId): ?Actor
    {
        try {
            return $this->circulation->actor($userId, ' at book locker ' . $kioskId);
        } catch (\InvalidArgumentException $ex) {
            return null;
        }
    }

    public function checkOut(string $memberNo, array $barcodes, string $date, Actor $actor): array
    {
        $out = [];
        foreach ($this->circulation->checkOut($memberNo, $barcodes, $date, $actor) as $code => $r) {
            $out[$code] = isset($r['refused']) ? Outcome::refused($r['refused'])
                : Outcome::done("loan {$r['loan_id']} due {$r['due_date']}", $r);
        }
        return $out;
    }

    public function checkIn(string $barcode, string $date, Actor $actor): Outcome
    {
        $r = $this->circulation->checkIn($barcode, $date, $actor);
        if ($r === null) {
            return Outcome::refused(Outcome::NOT_ON_LOAN, 'not on loan');
        }
        return Outcome::done('returned' . ($r['fine'] ? ", fine {$r['fine']['value']}" : ''), $r);
    }

    /**
     * The hook first, with an \ArrayObject a notification plugin reads
     * and marks: hold_id, member (SLiMS's member row: member_id,
     * member_name, member_email, member_phone), items (item_code, title),
     * kiosk (id, name), locker, pickup_code, expires_at (UTC), and 'sent'
     * that it sets to true when it told the patron. Else one e-mail to the
     * patron alone, unless e-mail is switched off.
     */
    public function notify(Notice $n): ?string
    {
        $member = ['member_id' => $n->memberNo];
        if ($n->member !== null) {
            $member = ['member_id' => $n->member->memberNo, 'member_name' => $n->member->name,
                'member_email' => $n->member->email, 'member_phone' => $n->member->phone];
        }
        $items = [];
        foreach ($n->items as $it) {
            $items[] = ['item_code' => $it['barcode'], 'title' => $it['title']];
        }
        $d = new \ArrayObject([
            'hold_id' => $n->holdId,
            'member' => $member,
            'items' => $items,
            'kiosk' => ['id' => $n->kioskId, 'name' => $n->kioskName],
            'locker' => $n->locker,
            'pickup_code' => $n->pickupCode,
            'expires_at' => $n->expiresAt,
            'sent' => false,
        ]);
        \SLiMS\Plugins::getInstance()->execute(self::HOOK, ['data' => $d]);
        if ($d['sent']) {
            return null;
        }
        if ((new Config($this->db))->get('email', '1') !== '1') {
            return 'e-mail is off and no notification plugin sent it: patron not notified';
        }
        // What the hook's plugins left in it: they may have corrected it.
        $email = trim((string) ($d['member']['member_email'] ?? ''));
        if ($email === '' || !filter_var($email, FILTER_VALIDATE_EMAIL)) {
            return 'no e-mail address: patron not notified';
        }
        [$subject, $body] = \Lokerbuku\Sync\Notify::text($n, fn(string $s): string => self::t($s));
        return self::mail($email, (string) ($d['member']['member_name'] ?? 'Member'), $subject, $body);
    }

    public static function t(string $s): string
    {
        return function_exists('__') ? __($s) : $s;
    }

    /**
     * One e-mail to one address through SLiMS's mailer (System -> Mail
     * settings): null when sent, else why not. SLiMS's \SLiMS\Mail is one
     * shared object and its to() adds to the addresses it already has, so
     * each message gets a mailer of its own, and its recipients are
     * cleared before and after, whatever else used it.
     */
    public static function mail(string $address, string $name, string $subject, string $body): ?string
    {
        if (!class_exists('SLiMS\\Mail')) {
            return 'SLiMS\'s mailer is missing';
        }
        $config = function_exists('config') ? config('mail') : null;
        if (!is_array($config) || empty($config['server'])) {
            return 'e-mail is not configured in SLiMS (System -> Mail settings)';
        }
        $mode = \SLiMS\Mail::$mode;
        \SLiMS\Mail::$mode = 'lokerbuku-one-per-message';
        try {
            $mail = \SLiMS\Mail::getInstance();
        } finally {
            \SLiMS\Mail::$mode = $mode;
        }
        $mail->clearAllRecipients();
        $mail->clearAttachments();
        // A mail server that does not answer must not hold a kiosk's
        // request or the staff page for PHPMailer's default 5 minutes.
        $mail->Timeout = 15;
        try {
            $mail->addAddress($address, $name);
            $mail->subject($subject)->message($body);
            if (!$mail->send()) {
                return 'e-mail failed: ' . Text::cut((string) $mail->ErrorInfo, 200);
            }
            return null;
        } catch (\Throwable $ex) {
            return 'e-mail failed: ' . Text::cut($ex->getMessage() ?: (string) $mail->ErrorInfo, 200);
        } finally {
            $mail->clearAllRecipients();
            if (method_exists($mail, 'smtpClose')) {
                $mail->smtpClose();
            }
        }
    }

    /** One line for staff: SLiMS's System -> System Log (log_location 'lokerbuku'), and PHP's error log. */
    public function log(string $line, string $about = ''): void
    {
        $line = Text::cut($line, 1000);
        error_log('lokerbuku: ' . $line);
        try {
            Guard::run(fn() => $this->db->prepare('INSERT INTO system_log (log_type, id, log_location, sub_module,'
                . " action, log_msg, log_date) VALUES ('system', ?, 'lokerbuku', 'Book Lockers', 'Error', ?, ?)")
                ->execute([Text::cut($about, 50), $line, date('Y-m-d H:i:s')]));
        } catch (\Throwable $e) {
            error_log('lokerbuku: cannot write system_log: ' . $e->getMessage());
        }
    }
}
