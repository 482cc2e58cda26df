<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// What became of one item in a loan or a return: done, or refused with a
// reason code. A refusal is recorded on the event and the hold for staff
// (attention), never lost.

namespace Lokerbuku\Sync;

final class Outcome
{
    public const MEMBER_UNKNOWN = 'member_unknown';
    public const MEMBER_EXPIRED = 'member_expired';
    public const MEMBER_PENDING = 'member_pending';
    public const MEMBER_BLOCKED = 'member_blocked';
    public const ITEM_UNKNOWN = 'item_unknown';
    public const ITEM_LENT = 'item_already_lent';
    public const ITEM_NO_LOAN = 'item_no_loan';
    public const ITEM_RESERVED = 'item_reserved_by_other';
    public const LOAN_LIMIT = 'loan_limit_reached';
    public const NOT_IN_HOLD = 'not_in_hold';
    public const NO_ACTOR = 'no_staff_user';
    public const NOT_ON_LOAN = 'not_on_loan';

    private function __construct(
        public readonly bool $done,
        public readonly string $code,
        public readonly string $text,
        public readonly array $data,
    ) {
    }

    /** Done: $text for the hold's note ('loan 12 due 2026-12-20'); $data free (loan id, fine). */
    public static function done(string $text, array $data = []): self
    {
        return new self(true, 'done', $text, $data);
    }

    /** Refused: a reason code ([a-z0-9_]{1,63}); $text for staff, the code when empty. */
    public static function refused(string $code, string $text = ''): self
    {
        if (!preg_match('/^[a-z0-9_]{1,63}$/', $code)) {
            throw new \InvalidArgumentException('a refusal code is 1 to 63 of a-z 0-9 _');
        }
        return new self(false, $code, $text === '' ? $code : $text, []);
    }
}
