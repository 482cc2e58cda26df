<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Text within the protocol's byte limits: no control codes, cut on a UTF-8
// character boundary.

namespace Lokerbuku\Sync;

final class Text
{
    /** $s without control codes, at most $maxBytes bytes of whole UTF-8 characters. */
    public static function cut(string $s, int $maxBytes): string
    {
        if (!mb_check_encoding($s, 'UTF-8')) {
            $s = mb_convert_encoding($s, 'UTF-8', 'ISO-8859-1');
        }
        $s = preg_replace('/[\x00-\x1f\x7f]+/u', ' ', $s);
        $s = trim($s);
        if (strlen($s) <= $maxBytes) {
            return $s;
        }
        return mb_strcut($s, 0, $maxBytes, 'UTF-8');
    }

    /** The first name of a SLiMS member_name, for the kiosk's greeting. */
    public static function firstName(string $name): string
    {
        $parts = preg_split('/\s+/u', trim($name), 2);
        return self::cut($parts[0] ?? '', 47);
    }

    /** Whether $s is an id of the protocol: 1 to 63 printable ASCII, no blanks. */
    public static function isId(string $s, int $max = 63): bool
    {
        return (bool) preg_match('/^[!-~]{1,' . $max . '}$/', $s);
    }
}
