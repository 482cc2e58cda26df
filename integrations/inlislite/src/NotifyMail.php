<?php
// SPDX-License-Identifier: GPL-3.0-or-later
// E-mail through the library's SMTP server: one message, one recipient,
// plain text in UTF-8. A small SMTP client of its own (EHLO, STARTTLS or
// TLS, AUTH PLAIN or LOGIN) so that the bridge needs no Composer package;
// every step has a time limit, so a dead server costs seconds, not minutes.

namespace Lokerbuku\Inlislite;

final class NotifyMail implements NotifyChannel
{
    public const TIMEOUT_S = 10;

    private $conn = null;

    /**
     * $smtp: host, port (587), security ('starttls', 'tls' or 'none';
     * 'none' only towards 127.0.0.1/localhost), user, password, from,
     * from_name.
     */
    public function __construct(private array $smtp)
    {
        if (empty($smtp['host']) || empty($smtp['from']) || !filter_var($smtp['from'], FILTER_VALIDATE_EMAIL)) {
            throw new \InvalidArgumentException('e-mail: smtp host and a valid from address are needed');
        }
        $sec = $smtp['security'] ?? 'starttls';
        if (!in_array($sec, ['starttls', 'tls', 'none'], true)) {
            throw new \InvalidArgumentException('e-mail: security is starttls, tls or none');
        }
        if ($sec === 'none' && !in_array($smtp['host'], ['127.0.0.1', '::1', 'localhost'], true)) {
            throw new \InvalidArgumentException('e-mail: plain SMTP only to this machine; use starttls or tls');
        }
    }

    public function name(): string
    {
        return 'email';
    }

    public function address(array $contact): ?string
    {
        $e = trim((string) ($contact['email'] ?? ''));
        return $e !== '' && filter_var($e, FILTER_VALIDATE_EMAIL) ? $e : null;
    }

    public function send(string $address, string $subject, string $text, string $short): void
    {
        if (!filter_var($address, FILTER_VALIDATE_EMAIL)) {
            throw new \RuntimeException("e-mail: not an address: $address");
        }
        try {
            $this->open();
            $this->cmd('MAIL FROM:<' . $this->smtp['from'] . '>', 250);
            $this->cmd("RCPT TO:<$address>", 250);
            $this->cmd('DATA', 354);
            $this->write($this->message($address, $subject, $text) . "\r\n.\r\n");
            $this->reply(250);
            $this->cmd('QUIT', 221);
        } finally {
            if ($this->conn) {
                fclose($this->conn);
                $this->conn = null;
            }
        }
    }

    private function open(): void
    {
        $sec = $this->smtp['security'] ?? 'starttls';
        $host = $this->smtp['host'];
        $port = (int) ($this->smtp['port'] ?? ($sec === 'tls' ? 465 : 587));
        $ctx = stream_context_create(['ssl' => ['verify_peer' => true, 'verify_peer_name' => true,
            'peer_name' => $host] + (empty($this->smtp['cafile']) ? [] : ['cafile' => $this->smtp['cafile']])]);
        $errno = 0;
        $errstr = '';
        $conn = @stream_socket_client(($sec === 'tls' ? 'tls://' : 'tcp://') . $host . ':' . $port, $errno, $errstr,
            self::TIMEOUT_S, STREAM_CLIENT_CONNECT, $ctx);
        if ($conn === false) {
            throw new \RuntimeException("e-mail: cannot reach $host:$port: $errstr");
        }
        stream_set_timeout($conn, self::TIMEOUT_S);
        $this->conn = $conn;
        $this->reply(220);
        $ehlo = $this->cmd('EHLO ' . (gethostname() ?: 'localhost'), 250);
        if ($sec === 'starttls') {
            $this->cmd('STARTTLS', 220);
            if (!@stream_socket_enable_crypto($conn, true, STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT
                | STREAM_CRYPTO_METHOD_TLSv1_3_CLIENT)) {
                throw new \RuntimeException('e-mail: STARTTLS failed');
            }
            $ehlo = $this->cmd('EHLO ' . (gethostname() ?: 'localhost'), 250);
        }
        $user = (string) ($this->smtp['user'] ?? '');
        if ($user === '') {
            return;
        }
        $pass = (string) ($this->smtp['password'] ?? '');
        if (preg_match('/^250[ -]AUTH\b.*\bPLAIN\b/mi', $ehlo)) {
            $this->cmd('AUTH PLAIN ' . base64_encode("\0$user\0$pass"), 235);
        } else {
            $this->cmd('AUTH LOGIN', 334);
            $this->cmd(base64_encode($user), 334);
            $this->cmd(base64_encode($pass), 235);
        }
    }

    private function message(string $to, string $subject, string $text): string
    {
        $fromName = str_replace(["\r", "\n", '"'], '', (string) ($this->smtp['from_name'] ?? 'Perpustakaan'));
        $domain = substr(strrchr($this->smtp['from'], '@'), 1);
        $head = [
            'Date: ' . date('r'),
            'From: =?UTF-8?B?' . base64_encode($fromName) . '?= <' . $this->smtp['from'] . '>',
            "To: <$to>",
            'Subject: =?UTF-8?B?' . base64_encode(str_replace(["\r", "\n"], ' ', $subject)) . '?=',
            'Message-ID: <' . bin2hex(random_bytes(12)) . '@' . $domain . '>',
            'MIME-Version: 1.0',
            'Content-Type: text/plain; charset=UTF-8',
            'Content-Transfer-Encoding: base64',
        ];
        // Base64 lines never start with '.', so no dot-stuffing is needed.
        return implode("\r\n", $head) . "\r\n\r\n" . rtrim(chunk_split(base64_encode($text), 76, "\r\n"));
    }

    private function write(string $s): void
    {
        for ($done = 0; $done < strlen($s); $done += $n) {
            $n = @fwrite($this->conn, substr($s, $done));
            if ($n === false || $n === 0) {
                throw new \RuntimeException('e-mail: connection lost while writing');
            }
        }
    }

    /** Reads one reply (all its lines); throws unless its code is $want. */
    private function reply(int $want): string
    {
        $all = '';
        for ($i = 0; $i < 100; $i++) {
            $line = fgets($this->conn, 1024);
            if ($line === false) {
                $meta = stream_get_meta_data($this->conn);
                throw new \RuntimeException('e-mail: ' . ($meta['timed_out'] ? 'server did not answer in time'
                    : 'connection closed by server'));
            }
            $all .= $line;
            if (strlen($line) < 4 || $line[3] !== '-') {
                break;
            }
        }
        if ((int) substr($all, 0, 3) !== $want) {
            throw new \RuntimeException('e-mail: server said ' . trim(substr($line, 0, 200)));
        }
        return $all;
    }

    private function cmd(string $line, int $want): string
    {
        $this->write($line . "\r\n");
        return $this->reply($want);
    }
}
