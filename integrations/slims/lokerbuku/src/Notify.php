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

    /** Fires the hook and sends the default e-mail; forgets the clear pickup code. */
    public function holdLoaded(string $holdId): void
    {
        $d = $this->message($holdId);
        if (!$d) {
            return;
        }
        \SLiMS\Plugins::getInstance()->execute(self::HOOK, ['data' => $d]);
        $note = null;
        if (!$d['sent'] && $this->store->config()->get('email', '1') === '1') {
            $email = trim((string) ($d['member']['member_email'] ?? ''));
            if ($email !== '' && filter_var($email, FILTER_VALIDATE_EMAIL)) {
                [$subject, $body] = self::text($d);
                try {
                    \SLiMS\Mail::to($email, $d['member']['member_name'] ?? 'Member')
                        ->subject($subject)->message($body)->send();
                } catch (\Throwable $ex) {
                    $note = 'e-mail failed: ' . Text::cut($ex->getMessage(), 200);
                }
            } else {
                $note = 'no e-mail address: patron not notified';
            }
        }
        $this->store->db()->prepare('UPDATE lokerbuku_hold SET notified_at = ?,'
            . ' code_sealed = IF(? IS NULL, NULL, code_sealed), note = COALESCE(?, note)'
            . ' WHERE hold_id = ?')->execute([Store::now(), $note, $note, $holdId]);
    }
}
