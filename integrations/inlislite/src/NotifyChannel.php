<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// One way of telling a patron (SMS, e-mail, WhatsApp): where to reach a
// member, and one delivery that throws with the reason when it fails.

namespace Lokerbuku\Inlislite;

interface NotifyChannel
{
    /** The channel's name as the queue stores it: 'sms', 'email' or 'wa'. */
    public function name(): string;

    /**
     * Where a member is reached on this channel, from their contact
     * ['phone' => NoHp else Phone, 'email' => Email], or null.
     */
    public function address(array $contact): ?string;

    /**
     * Delivers one message; throws \RuntimeException saying why when the
     * channel is down or refuses it (the queue tries again later).
     * $short: the text for channels with little room (SMS).
     */
    public function send(string $address, string $subject, string $text, string $short): void;
}
