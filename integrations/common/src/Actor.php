<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// The staff account a kiosk's loans and returns are made by.

namespace Lokerbuku\Sync;

final class Actor
{
    /**
     * @param int $userId the library system's user id
     * @param string $name their name as the library's logs show it
     * @param string $where ' at book locker <kiosk id>', for log lines
     */
    public function __construct(
        public readonly int $userId,
        public readonly string $name,
        public readonly string $where = '',
    ) {
    }
}
