<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Credential HMACs, PIN hashes and pickup codes as docs/sync-api.md
// ("Credentials and the site key", "PIN hashes") defines them.

namespace Lokerbuku\Sync;

final class Credentials
{
    /**
     * PBKDF2 iterations of members' PIN hashes: the most a kiosk of sync
     * v1.0 checks (docs/sync-api.md), since a hold must reach every kiosk
     * it is routed to, so that a hash taken from a kiosk costs the most
     * to guess there (docs/security.md, "Kiosk PINs").
     */
    public const PIN_ITERATIONS = 200000;
    /**
     * PBKDF2 iterations of staff PIN hashes, as lokerhub's: a staff card
     * opens every locker, so its hash is worth the most to whoever takes
     * a kiosk. Only kiosks that said Lokerbuku-Sync: 1.1 check a hash
     * this costly; the others are not sent it (Api::changes()).
     */
    public const STAFF_PIN_ITERATIONS = 600000;
    /** The most iterations a kiosk of sync v1.1 checks, both forms' counts together. */
    public const PIN_ITERATIONS_MAX = 2000000;
    /** The most iterations, in the first form only, a kiosk of sync v1.0 checks. */
    public const PIN_ITERATIONS_V10_MAX = 200000;
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

    /**
     * The parts of a PIN hash of either form: ['iterations' => n, 'more' =>
     * n of the second form (0: first form), 'salt' => bytes, 'key' =>
     * bytes], or null when it is not one a kiosk checks.
     */
    public static function pinHashParts(string $hash): ?array
    {
        if (strlen($hash) > 160 || !preg_match('/^pbkdf2-sha256(?:\$([1-9][0-9]{0,6})|-2\$([1-9][0-9]{0,6})\$([1-9][0-9]{0,6}))'
            . '\$((?:[0-9a-f]{2}){8,64})\$([0-9a-f]{64})$/', $hash, $m)) {
            return null;
        }
        $n = (int) ($m[1] !== '' ? $m[1] : $m[2]);
        $more = $m[1] !== '' ? 0 : (int) $m[3];
        if ($n + $more > self::PIN_ITERATIONS_MAX) {
            return null;
        }
        return ['iterations' => $n, 'more' => $more, 'salt' => hex2bin($m[4]), 'key' => hex2bin($m[5])];
    }

    /** Whether a kiosk of sync v1.0 checks this PIN hash: the first form, at most 200 000 iterations. */
    public static function pinHashV10(string $hash): bool
    {
        $p = self::pinHashParts($hash);
        return $p !== null && $p['more'] === 0 && $p['iterations'] <= self::PIN_ITERATIONS_V10_MAX;
    }

    /**
     * A first-form PIN hash made to cost $iterations in all without its
     * PIN: 'pbkdf2-sha256-2$<n>$<more>$<salt>$<PBKDF2 of the first key,
     * same salt, more>' (docs/sync-api.md, "PIN hashes"); null when it
     * costs that much already or is of the second form (PBKDF2 of PBKDF2
     * does not chain). Throws on a hash that is not one.
     */
    public static function pinHashUpgrade(string $hash, int $iterations = self::STAFF_PIN_ITERATIONS): ?string
    {
        if ($iterations < 1 || $iterations > self::PIN_ITERATIONS_MAX) {
            throw new \InvalidArgumentException('iterations: 1 to ' . self::PIN_ITERATIONS_MAX);
        }
        $p = self::pinHashParts($hash);
        if ($p === null) {
            throw new \InvalidArgumentException('not a PIN hash');
        }
        if ($p['iterations'] + $p['more'] >= $iterations || $p['more'] > 0) {
            return null;
        }
        $more = $iterations - $p['iterations'];
        return 'pbkdf2-sha256-2$' . $p['iterations'] . '$' . $more . '$' . bin2hex($p['salt']) . '$'
            . bin2hex(hash_pbkdf2('sha256', $p['key'], $p['salt'], $more, 32, true));
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
