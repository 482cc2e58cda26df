<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Tells the patron a hold is in a locker: fires the SLiMS hook
// 'lokerbuku_hold_loaded' for notification plugins (WhatsApp, SMS ...),
// then, unless one of them marked the message sent, e-mails it through
// SLiMS's own mailer. The pickup code is known in clear only until then.

namespace Lokerbuku\Slims;

final class Notify
{
    public const HOOK = 'lokerbuku_hold_loaded';

    public function __construct(private Store $store)
    {
    }

    /** Everything a message needs about a loaded hold. */
    public function message(string $holdId): ?\ArrayObject
    {
        $db = $this->store->db();
        $h = $this->store->hold($holdId);
        if (!$h) {
            return null;
        }
        $m = $db->prepare('SELECT member_id, member_name, member_email, member_phone FROM member WHERE member_id = ?');
        $m->execute([$h['member_id']]);
        $member = $m->fetch(\PDO::FETCH_ASSOC) ?: ['member_id' => $h['member_id']];
        $items = [];
        foreach ($this->store->holdJson($h)['items'] as $it) {
            $items[] = ['item_code' => $it['barcode'], 'title' => $it['title']];
        }
        $k = $this->store->kiosk($h['kiosk_id']);
        $code = $h['code_sealed'] === null ? null
            : Credentials::unseal($this->store->config()->siteKey(), $h['code_sealed']);
        return new \ArrayObject([
            'hold_id' => $h['hold_id'],
            'member' => $member,
            'items' => $items,
            'kiosk' => ['id' => $h['kiosk_id'], 'name' => $k['name'] ?? ''],
            'locker' => $h['locker'] === null ? null : (int) $h['locker'],
            'pickup_code' => $code,
            'expires_at' => $h['expires_at'],
            'sent' => false,
        ]);
    }

    public static function t(string $s): string
    {
        return function_exists('__') ? __($s) : $s;
    }

    /** The default message's subject and text. */
    public static function text(\ArrayObject $d): array
    {
        $titles = [];
        foreach ($d['items'] as $it) {
            $titles[] = '- ' . ($it['title'] ?? $it['item_code']) . ' (' . $it['item_code'] . ')';
        }
        $expires = $d['expires_at'] === null ? '' : (new \DateTimeImmutable($d['expires_at'], new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone(date_default_timezone_get()))->format('Y-m-d H:i');
        $subject = self::t('Your books are ready in a locker');
        $body = str_replace(
            ['{name}', '{kiosk}', '{locker}', '{code}', '{expires}'],
            [$d['member']['member_name'] ?? '', $d['kiosk']['name'] ?: $d['kiosk']['id'],
                (string) $d['locker'], $d['pickup_code'] ?? '-', $expires],
            self::t("Hello {name},\n\nyour books are ready for you in locker {locker} of the book locker {kiosk}:")
        ) . "\n" . implode("\n", $titles) . "\n\n"
            . str_replace(['{code}', '{expires}'], [$d['pickup_code'] ?? '-', $expires],
                self::t("Tap your member card at the locker, or type the pickup code {code}. They wait for you until {expires}."))
            . "\n";
        return [$subject, $body];
    }

    /** Automatic tries per hold before only staff (Resend) try again. */
    public const TRIES_MAX = 8;
    /** Holds retried per request (API or staff page), so that none waits long on mail. */
    public const RETRY_BATCH = 3;

    /**
     * Tells the patron of a loaded hold: the hook, else one e-mail to the
     * patron alone. Records the outcome on the hold: 'sent' (the clear
     * pickup code is forgotten), else 'failed' with the reason and the
     * time of the next try (the code stays sealed until then). Returns
     * whether the patron was told. Never throws for a mail failure.
     */
    public function send(string $holdId): bool
    {
        $db = $this->store->db();
        $why = null;
        try {
            $why = Guard::run(fn() => $this->attempt($holdId));
        } catch (\Throwable $ex) {
            $why = 'e-mail failed: ' . Text::cut($ex->getMessage(), 200);
            Guard::log($db, "notifying hold $holdId: " . Guard::describe($ex), $holdId);
        }
        if ($why === '') {
            return false; // not loaded (any more): nothing to tell
        }
        if ($why === null) {
            $db->prepare("UPDATE lokerbuku_hold SET notify_state = 'sent', notified_at = ?, code_sealed = NULL,"
                . ' notify_next_at = NULL WHERE hold_id = ?')->execute([Store::now(), $holdId]);
            return true;
        }
        $h = $this->store->hold($holdId);
        $tries = (int) ($h['notify_tries'] ?? 0) + 1;
        // 5 minutes, doubling, at most 6 hours apart; none after TRIES_MAX.
        $next = $tries >= self::TRIES_MAX ? null
            : gmdate('Y-m-d H:i:s', time() + min(6 * 3600, 300 * (1 << ($tries - 1))));
        $db->prepare("UPDATE lokerbuku_hold SET notify_state = 'failed', notify_tries = ?, notify_next_at = ?,"
            . ' note = ? WHERE hold_id = ?')->execute([$tries, $next, Text::cut($why, 255), $holdId]);
        return false;
    }

    /** One try: null when told, '' when there is nothing to tell, else why not. */
    private function attempt(string $holdId): ?string
    {
        $h = $this->store->hold($holdId);
        if (!$h || $h['state'] !== 'loaded') {
            return '';
        }
        $d = $this->message($holdId);
        \SLiMS\Plugins::getInstance()->execute(self::HOOK, ['data' => $d]);
        if ($d['sent']) {
            return null;
        }
        if ($this->store->config()->get('email', '1') !== '1') {
            return 'e-mail is off and no notification plugin sent it: patron not notified';
        }
        $email = trim((string) ($d['member']['member_email'] ?? ''));
        if ($email === '' || !filter_var($email, FILTER_VALIDATE_EMAIL)) {
            return 'no e-mail address: patron not notified';
        }
        if ($d['pickup_code'] === null && $h['code_sealed'] !== null) {
            return 'the pickup code cannot be unsealed (site key changed?)';
        }
        [$subject, $body] = self::text($d);
        return self::mail($email, (string) ($d['member']['member_name'] ?? 'Member'), $subject, $body);
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

    /**
     * Tries again, at most RETRY_BATCH holds whose next try is due; each
     * is claimed first (its next try moved on), so that two requests at
     * once do not both mail it. Returns how many were told.
     */
    public function retryDue(): int
    {
        $db = $this->store->db();
        $now = Store::now();
        $st = $db->prepare("SELECT hold_id FROM lokerbuku_hold WHERE state = 'loaded'"
            . " AND (notify_state = 'due' OR (notify_state = 'failed' AND notify_next_at IS NOT NULL))"
            . ' AND (notify_next_at IS NULL OR notify_next_at <= ?) ORDER BY notify_next_at, hold_id LIMIT '
            . self::RETRY_BATCH);
        $st->execute([$now]);
        $claim = $db->prepare('UPDATE lokerbuku_hold SET notify_next_at = ? WHERE hold_id = ?'
            . ' AND (notify_next_at IS NULL OR notify_next_at <= ?)');
        $told = 0;
        foreach ($st->fetchAll(\PDO::FETCH_COLUMN) as $holdId) {
            // A 'due' hold is being sent right now by the upload that loaded
            // it; it is retried here only if that request died.
            $claim->execute([gmdate('Y-m-d H:i:s', time() + 600), $holdId, $now]);
            if ($claim->rowCount() === 1) {
                $told += $this->send($holdId) ? 1 : 0;
            }
        }
        return $told;
    }
}
