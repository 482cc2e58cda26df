<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// SMS the way INLISLite 3.x sends them: a row in the Gammu SMSD `outbox`
// table of INLISLite's own database (DestinationNumber = the member's
// NoHp, TextDecoded = the text), which the library's gammu-smsd sends.

namespace Lokerbuku\Inlislite;

final class NotifySms implements NotifyChannel
{
    /** One SMS in the GSM default alphabet; gammu-smsd sends no more from TextDecoded. */
    public const TEXT_MAX = 160;

    public function __construct(private \PDO $db)
    {
    }

    public function name(): string
    {
        return 'sms';
    }

    /** A mobile number as Gammu takes it: digits, an optional leading '+'. */
    public static function number(?string $raw): ?string
    {
        $n = preg_replace('/[\s.\-()\/]+/', '', trim((string) $raw));
        return preg_match('/^\+?[0-9]{8,19}$/', $n) ? $n : null;
    }

    public function address(array $contact): ?string
    {
        return self::number($contact['phone'] ?? null);
    }

    /** $short in the GSM default alphabet's safe part (plain ASCII), at most TEXT_MAX. */
    public static function gsm(string $short): string
    {
        $s = iconv('UTF-8', 'ASCII//TRANSLIT//IGNORE', $short);
        $s = preg_replace('/[^\x20-\x7e\n]+/', '', $s === false ? '' : $s);
        return substr($s, 0, self::TEXT_MAX);
    }

    public function send(string $address, string $subject, string $text, string $short): void
    {
        try {
            // CreatorID has no default in Gammu's schema; a strict server
            // refuses the row without it.
            $this->db->prepare('INSERT INTO outbox (DestinationNumber, TextDecoded, CreatorID) VALUES (?, ?, ?)')
                ->execute([$address, self::gsm($short), 'lokerbuku']);
        } catch (\PDOException $e) {
            throw new \RuntimeException('SMS outbox: ' . $e->getMessage(), 0, $e);
        }
    }
}
