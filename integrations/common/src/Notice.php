<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// Everything a message to a patron about a loaded hold needs. The pickup
// code is here in clear only until the patron has been told.

namespace Lokerbuku\Sync;

final class Notice
{
    /**
     * @param ?Member $member null when the library no longer knows the member
     * @param array<int, array{barcode: string, title: ?string}> $items
     * @param ?string $expiresAt UTC, 'Y-m-d H:i:s'
     */
    public function __construct(
        public readonly string $holdId,
        public readonly string $memberNo,
        public readonly ?Member $member,
        public readonly array $items,
        public readonly string $kioskId,
        public readonly string $kioskName,
        public readonly ?int $locker,
        public readonly ?string $pickupCode,
        public readonly ?string $expiresAt,
    ) {
    }
}
