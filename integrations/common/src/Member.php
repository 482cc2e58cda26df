<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// A member as a library system describes one to the shared code.

namespace Lokerbuku\Sync;

final class Member
{
    /**
     * @param string $memberNo the member number as stored (1 to 63 bytes)
     * @param string $name the full name; kiosks greet with its first word
     * @param ?string $refusal null when the member may borrow today, else
     *        a reason code (Outcome::MEMBER_EXPIRED, MEMBER_PENDING, ...)
     */
    public function __construct(
        public readonly string $memberNo,
        public readonly string $name,
        public readonly ?string $email = null,
        public readonly ?string $phone = null,
        public readonly ?string $refusal = null,
    ) {
    }

    public function mayBorrow(): bool
    {
        return $this->refusal === null;
    }

    /** The first name, for the kiosk's greeting (patron_name). */
    public function firstName(): string
    {
        return Text::firstName($this->name);
    }
}
