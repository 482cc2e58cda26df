<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The words of a message to a patron whose holds are in lockers, in
// Bahasa Indonesia (default) or English: a subject, a text for e-mail
// and WhatsApp, and one SMS of at most 160 plain characters.

namespace Lokerbuku\Inlislite;

final class NotifyText
{
    private const WORDS = [
        'id' => [
            'subject' => 'Buku Anda siap diambil di loker',
            'hello' => 'Halo {name},',
            'ready' => 'buku yang Anda pesan sudah menunggu di loker buku {kiosk}:',
            'locker' => 'Loker {locker}',
            'code' => 'kode ambil',
            'how' => 'Tempelkan kartu anggota Anda di loker, atau ketik kode ambilnya.',
            'until' => 'Buku menunggu sampai {expires}.',
            'sms' => 'Buku Anda siap di loker {kiosk}:',
            'sms_until' => 's/d',
        ],
        'en' => [
            'subject' => 'Your books are ready in a locker',
            'hello' => 'Hello {name},',
            'ready' => 'the books you asked for wait for you at the book locker {kiosk}:',
            'locker' => 'Locker {locker}',
            'code' => 'pickup code',
            'how' => 'Tap your member card at the locker, or type the pickup code.',
            'until' => 'They wait for you until {expires}.',
            'sms' => 'Your books are ready at locker {kiosk}:',
            'sms_until' => 'until',
        ],
    ];

    /**
     * [subject, text, short] for a member ($name) and their holds, each
     * ['kiosk' => name, 'locker' => ?int, 'items' => [['barcode', 'title']],
     * 'code' => ?string clear pickup code, 'expires_at' => ?UTC].
     * $tz: the library's time zone for the times shown.
     */
    public static function render(string $name, array $holds, string $lang = 'id',
                                  string $tz = 'Asia/Jakarta'): array
    {
        $w = self::WORDS[$lang] ?? self::WORDS['id'];
        $kiosks = implode(', ', array_unique(array_map(fn($h) => (string) $h['kiosk'], $holds)));
        $lines = [];
        $sms = [];
        $expires = null;
        foreach ($holds as $h) {
            $where = $h['locker'] === null ? $h['kiosk'] : str_replace('{locker}', (string) $h['locker'], $w['locker']);
            $code = $h['code'] === null ? '' : ', ' . $w['code'] . ' ' . $h['code'];
            $lines[] = $where . $code . ':';
            foreach ($h['items'] as $it) {
                $title = trim((string) ($it['title'] ?? ''));
                $lines[] = '  - ' . ($title === '' ? $it['barcode'] : $title . ' (' . $it['barcode'] . ')');
            }
            $sms[] = $where . ($h['code'] === null ? '' : ' ' . $w['code'] . ' ' . $h['code']);
            if ($h['expires_at'] !== null && ($expires === null || $h['expires_at'] > $expires)) {
                $expires = $h['expires_at'];
            }
        }
        $local = $expires === null ? null : (new \DateTimeImmutable($expires, new \DateTimeZone('UTC')))
            ->setTimezone(new \DateTimeZone($tz));
        $text = str_replace('{name}', $name, $w['hello']) . "\n\n"
            . str_replace('{kiosk}', $kiosks, $w['ready']) . "\n" . implode("\n", $lines) . "\n\n" . $w['how']
            . ($local === null ? '' : ' ' . str_replace('{expires}', $local->format('d-m-Y H:i'), $w['until'])) . "\n";
        $short = str_replace('{kiosk}', $kiosks, $w['sms']) . ' ' . implode('; ', $sms)
            . ($local === null ? '' : ', ' . $w['sms_until'] . ' ' . $local->format('d-m H:i')) . '.';
        return [$w['subject'], $text, $short];
    }
}
