<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Tells the patron a hold is in a locker, by the library system's
// channels (LibrarySystem::notify), and keeps at it: a channel that is
// down delays the message, never loses it. The pickup code is known in
// clear (sealed in the hold) only until the patron has been told.

namespace Lokerbuku\Sync;

final class Notify
{
    /** Automatic tries per hold before only staff (Resend) try again. */
    public const TRIES_MAX = 8;
    /** Holds retried per request (API or staff page), so that none waits long on a channel. */
    public const RETRY_BATCH = 3;

    public function __construct(private Store $store)
    {
    }

    /** Everything a message about a hold needs, or null when there is no such hold. */
    public function notice(string $holdId): ?Notice
    {
        $h = $this->store->hold($holdId);
        if (!$h) {
            return null;
        }
        $items = [];
        foreach ($this->store->holdJson($h)['items'] as $it) {
            $items[] = ['barcode' => $it['barcode'], 'title' => $it['title']];
        }
        $k = $this->store->kiosk($h['kiosk_id']);
        $code = $h['code_sealed'] === null ? null
            : Credentials::unseal($this->store->config()->siteKey(), $h['code_sealed']);
        return new Notice($h['hold_id'], $h['member_id'], $this->store->library()->member($h['member_id']), $items,
            $h['kiosk_id'], (string) ($k['name'] ?? ''), $h['locker'] === null ? null : (int) $h['locker'],
            $code, $h['expires_at']);
    }

    /**
     * The default message's subject and text. $t translates a string
     * (SLiMS: its __()); the placeholders {name} {kiosk} {locker} {code}
     * {expires} stay as they are in the translation.
     */
    public static function text(Notice $n, ?callable $t = null): array
    {
        $t ??= fn(string $s): string => $s;
        $titles = [];
        foreach ($n->items as $it) {
            $titles[] = '- ' . ($it['title'] ?? $it['barcode']) . ' (' . $it['barcode'] . ')';
        }
        $expires = $n->expiresAt === null ? '' : (new \DateTimeImmutable($n->expiresAt, new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone(date_default_timezone_get()))->format('Y-m-d H:i');
        $subject = $t('Your books are ready in a locker');
        $body = str_replace(
            ['{name}', '{kiosk}', '{locker}', '{code}', '{expires}'],
            [$n->member?->name ?? '', $n->kioskName ?: $n->kioskId,
                (string) $n->locker, $n->pickupCode ?? '-', $expires],
            $t("Hello {name},\n\nyour books are ready for you in locker {locker} of the book locker {kiosk}:")
        ) . "\n" . implode("\n", $titles) . "\n\n"
            . str_replace(['{code}', '{expires}'], [$n->pickupCode ?? '-', $expires],
                $t("Tap your member card at the locker, or type the pickup code {code}. They wait for you until {expires}."))
            . "\n";
        return [$subject, $body];
    }

    /**
     * Tells the patron of a loaded hold by the library's channels. Records the outcome on the hold: 'sent' (the clear
     * pickup code is forgotten), else 'failed' with the reason and the
     * time of the next try (the code stays sealed until then). Returns
     * whether the patron was told. Never throws for a channel's failure.
     */
    public function send(string $holdId): bool
    {
        $why = null;
        try {
            $why = Guard::run(fn() => $this->attempt($holdId));
        } catch (\Throwable $ex) {
            $why = 'notification failed: ' . Text::cut($ex->getMessage(), 200);
            Guard::log($this->store->library(), "notifying hold $holdId: " . Guard::describe($ex), $holdId);
        }
        if ($why === '') {
            return false; // not loaded (any more): nothing to tell
        }
        if ($why === null) {
            $this->store->prepare("UPDATE {hold} SET notify_state = 'sent', notified_at = ?, code_sealed = NULL,"
                . ' notify_next_at = NULL WHERE hold_id = ?')->execute([Store::now(), $holdId]);
            return true;
        }
        $h = $this->store->hold($holdId);
        $tries = (int) ($h['notify_tries'] ?? 0) + 1;
        // 5 minutes, doubling, at most 6 hours apart; none after TRIES_MAX.
        $next = $tries >= self::TRIES_MAX ? null
            : gmdate('Y-m-d H:i:s', time() + min(6 * 3600, 300 * (1 << ($tries - 1))));
        $this->store->prepare("UPDATE {hold} SET notify_state = 'failed', notify_tries = ?, notify_next_at = ?,"
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
        $n = $this->notice($holdId);
        if ($n->pickupCode === null && $h['code_sealed'] !== null) {
            return 'the pickup code cannot be unsealed (site key changed?)';
        }
        $why = $this->store->library()->notify($n);
        return $why === null ? null : ($why === '' ? 'patron not notified' : Text::cut($why, 255));
    }

    /**
     * Tries again, at most RETRY_BATCH holds whose next try is due; each
     * is claimed first (its next try moved on), so that two requests at
     * once do not both mail it. Returns how many were told.
     */
    public function retryDue(): int
    {
        $now = Store::now();
        $st = $this->store->prepare("SELECT hold_id FROM {hold} WHERE state = 'loaded'"
            . " AND (notify_state = 'due' OR (notify_state = 'failed' AND notify_next_at IS NOT NULL))"
            . ' AND (notify_next_at IS NULL OR notify_next_at <= ?) ORDER BY notify_next_at, hold_id LIMIT '
            . self::RETRY_BATCH);
        $st->execute([$now]);
        $claim = $this->store->prepare('UPDATE {hold} SET notify_next_at = ? WHERE hold_id = ?'
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
