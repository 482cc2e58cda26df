<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The hook for WhatsApp gateways (Fonnte, Wablas, a library's own): one
// HTTP POST of JSON {"to", "message", "subject"} to the URL the library
// configured, with its bearer token if any. Any 2xx answer is "sent".

namespace Lokerbuku\Inlislite;

final class NotifyWhatsapp implements NotifyChannel
{
    /** Seconds a gateway may take; a kiosk's upload waits on it. */
    public const TIMEOUT_S = 10;

    public function __construct(private string $url, private string $token = '', private string $country = '62')
    {
        if (!preg_match('#^https?://[^\s]+$#', $url)) {
            throw new \InvalidArgumentException('WhatsApp gateway: the URL must be http:// or https://');
        }
    }

    public function name(): string
    {
        return 'wa';
    }

    /** The member's mobile number in international form without '+' (0812... -> 62812...). */
    public function address(array $contact): ?string
    {
        $n = NotifySms::number($contact['phone'] ?? null);
        if ($n === null) {
            return null;
        }
        if ($n[0] === '+') {
            return substr($n, 1);
        }
        return $n[0] === '0' ? $this->country . substr($n, 1) : $n;
    }

    public function send(string $address, string $subject, string $text, string $short): void
    {
        $ch = curl_init($this->url);
        $headers = ['Content-Type: application/json', 'Accept: application/json'];
        if ($this->token !== '') {
            $headers[] = 'Authorization: Bearer ' . $this->token;
        }
        curl_setopt_array($ch, [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => json_encode(['to' => $address, 'subject' => $subject, 'message' => $text],
                JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES),
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_CONNECTTIMEOUT => self::TIMEOUT_S,
            CURLOPT_TIMEOUT => self::TIMEOUT_S,
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_PROTOCOLS => CURLPROTO_HTTP | CURLPROTO_HTTPS,
            CURLOPT_MAXFILESIZE => 65536,
        ]);
        $body = curl_exec($ch);
        $code = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $err = curl_error($ch);
        curl_close($ch);
        if ($body === false) {
            throw new \RuntimeException('WhatsApp gateway: ' . $err);
        }
        if ($code < 200 || $code > 299) {
            throw new \RuntimeException("WhatsApp gateway answered HTTP $code: "
                . substr(preg_replace('/\s+/', ' ', (string) $body), 0, 120));
        }
    }
}
