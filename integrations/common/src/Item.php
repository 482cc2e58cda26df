<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// An item (one copy, one barcode) as a library system describes one.

namespace Lokerbuku\Sync;

final class Item
{
    /**
     * @param string $barcode the barcode as stored (1 to 63 bytes)
     * @param ?string $title the title kiosks show, or null
     * @param bool $loanable whether its status allows a loan at all
     * @param ?string $queueHead the member number first in the library's
     *        own reservation queue for it, or null when none waits
     */
    public function __construct(
        public readonly string $barcode,
        public readonly ?string $title = null,
        public readonly bool $loanable = true,
        public readonly ?string $queueHead = null,
    ) {
    }
}
