<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Credential HMACs, PIN hashes and pickup codes as docs/sync-api.md
// ("Credentials and the site key", "PIN hashes") defines them.

namespace Lokerbuku\Sync;

final class Credentials
{
    /**
     * PBKDF2 iterations of the PIN hashes kiosks get: the most a kiosk
     * accepts (docs/sync-api.md), so that a hash taken from a kiosk costs
     * the most to guess (docs/security.md, "Kiosk PINs").
     */
    public const PIN_ITERATIONS = 200000;
    /** PINs the plugin sets (members' and kiosk staff's): 6 to 8 digits (a kiosk takes 4 to 8). */
    public const NEW_PIN_MIN = 6;

    /** HMAC-SHA256 of a normalised credential, keyed with the site key's bytes. */
    public static function hmac(string $siteKey, string $credential): string
    {
        return hash_hmac('sha256', $credential, $siteKey);
    }

    /** 'card:<member_id>' as the barcode on a SLiMS member card reads. */
    public static function card(string $memberId): string
    {
        return 'card:' . trim($memberId);
    }

    /** 'uid:<HEX>' from a UID typed or read as hex, with or without ':' or blanks; null if it is not 4, 7 or 10 bytes. */
    public static function uid(string $uid): ?string
    {
        $hex = strtoupper(preg_replace('/[\s:-]/', '', $uid));
        if (!preg_match('/^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$/', $hex)) {
            return null;
        }
        return 'uid:' . $hex;
    }

    /** Whether a string may serve as a PIN: 4 to 8 ASCII digits. */
    public static function isPin(string $pin): bool
    {
        return (bool) preg_match('/^[0-9]{4,8}$/', $pin);
    }

    /** Whether a string may be set as a kiosk PIN now: 6 to 8 ASCII digits (docs/security.md). */
    public static function isNewPin(string $pin): bool
    {
        return (bool) preg_match('/^[0-9]{' . self::NEW_PIN_MIN . ',8}$/', $pin);
    }

    /** 'pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>' of a PIN. */
    public static function pinHash(string $pin, ?string $salt = null,
                                   int $iterations = self::PIN_ITERATIONS): string
    {
        if (!self::isPin($pin)) {
            throw new \InvalidArgumentException('a PIN is 4 to 8 digits');
        }
        $salt ??= random_bytes(16);
        return 'pbkdf2-sha256$' . $iterations . '$' . bin2hex($salt) . '$'
            . bin2hex(hash_pbkdf2('sha256', $pin, $salt, $iterations, 32, true));
    }

    /** A random pickup code of $digits digits (6 to 12). */
    public static function pickupCode(int $digits = 6): string
    {
        $code = '';
        for ($i = 0; $i < $digits; $i++) {
            $code .= (string) random_int(0, 9);
        }
        return $code;
    }

    /** A new kiosk token: 32 random bytes as 64 hex digits. */
    public static function newToken(): string
    {
        return bin2hex(random_bytes(32));
    }

    /** What the server keeps of a token: its SHA-256 (it is random, not a password). */
    public static function tokenHash(string $token): string
    {
        return hash('sha256', $token);
    }

    /**
     * Seals a pickup code until the patron has been told it, so that the
     * database alone (a backup) does not reveal it: AES-256-GCM under a key
     * derived from the site key.
     */
    public static function seal(string $siteKey, string $plain): string
    {
        $key = hash_hmac('sha256', 'lokerbuku pickup code seal', $siteKey, true);
        $iv = random_bytes(12);
        $tag = '';
        $ct = openssl_encrypt($plain, 'aes-256-gcm', $key, OPENSSL_RAW_DATA, $iv, $tag);
        return bin2hex($iv . $tag . $ct);
    }

    public static function unseal(string $siteKey, string $sealed): ?string
    {
        $raw = @hex2bin($sealed);
        if ($raw === false || strlen($raw) < 29) {
            return null;
        }
        $key = hash_hmac('sha256', 'lokerbuku pickup code seal', $siteKey, true);
        $plain = openssl_decrypt(substr($raw, 28), 'aes-256-gcm', $key,
            OPENSSL_RAW_DATA, substr($raw, 0, 12), substr($raw, 12, 16));
        return $plain === false ? null : $plain;
    }
}
