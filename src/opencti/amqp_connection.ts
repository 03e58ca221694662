/**
 * Opens the RabbitMQ channel that the publisher sends on: one connection
 * with a 10 s heartbeat (as pycti opens it), one channel in publisher
 * confirm mode. The client is `@cloudamqp/amqp-client`, which speaks AMQP
 * 0-9-1 over `node:net` and `node:tls` and runs unchanged on Deno.
 *
 * The connection settings come from the platform's registration response,
 * overridden field by field by the `MQ_*` settings, because the platform
 * often returns a host name that resolves only inside its own network.
 */
import { AMQPClient } from "@cloudamqp/amqp-client";
import type { Settings } from "../config/settings.ts";
import { TlsVerificationError } from "./errors.ts";
import {
  type BrokerTlsOptions,
  isCertificateError,
  loadBrokerTlsOptions,
} from "./tls.ts";

/** Broker address and credentials; `password` must never reach a log. */
export interface AmqpConnectionOptions {
  host: string;
  port: number;
  vhost: string;
  username: string;
  password: string;
  useSsl: boolean;
  /** CA, client certificate and key for TLS, as PEM texts. */
  tls?: BrokerTlsOptions;
  /** Shown in RabbitMQ's management UI. */
  connectionName?: string;
}

/** `config.connection` of OpenCTI's `registerConnector` response. */
export interface RegisteredAmqpConnection {
  host: string;
  port: number;
  vhost: string;
  use_ssl: boolean;
  user: string;
  pass: string;
}

/** A channel in confirm mode, reduced to what the publisher needs. */
export interface ConfirmChannel {
  /**
   * Publishes one persistent message. Resolves when the broker confirms it
   * and rejects when the broker rejects it (nack) or the channel closes
   * first.
   */
  publish(exchange: string, routingKey: string, body: string): Promise<void>;
  /** True once the channel or its connection has closed. */
  readonly closed: boolean;
  /** Closes the channel and its connection, ignoring close errors. */
  close(): Promise<void>;
}

export type ConnectChannel = () => Promise<ConfirmChannel>;

/**
 * Heartbeat in seconds, as pycti sets it. The client closes a socket that
 * stays silent for this long, which ends a page's wait for confirms.
 *
 * NOTE: no test covers a broker that stops responding without closing the
 * socket; the tests cut or refuse connections instead.
 */
const HEARTBEAT_SECONDS = 10;

/** Largest AMQP frame; bigger messages are split into frames of this size. */
const FRAME_MAX_BYTES = 131_072;

/**
 * Builds the connection options from the registration response and the
 * `MQ_*` settings; each setting that is set replaces the platform's value.
 * Reads the TLS files that the settings name by path, and throws
 * `TlsSettingError` when one cannot be read.
 */
export async function resolveAmqpConnection(
  registered: RegisteredAmqpConnection,
  mq: Partial<Settings["mq"]>,
  connectionName?: string,
): Promise<AmqpConnectionOptions> {
  const options: AmqpConnectionOptions = {
    host: mq.host ?? registered.host,
    port: mq.port ?? registered.port,
    vhost: mq.vhost ?? registered.vhost,
    username: mq.user ?? registered.user,
    password: mq.pass ?? registered.pass,
    useSsl: mq.use_ssl ?? registered.use_ssl,
    connectionName,
  };
  if (!options.useSsl) return options;

  return { ...options, tls: await loadBrokerTlsOptions(mq) };
}

/**
 * Returns the `amqp://` or `amqps://` URL of the options, with the
 * credentials percent-encoded. The URL contains the password: never log it.
 */
export function amqpUrl(options: AmqpConnectionOptions): string {
  const scheme = options.useSsl ? "amqps" : "amqp";
  const user = encodeURIComponent(options.username);
  const password = encodeURIComponent(options.password);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const vhost = encodeURIComponent(options.vhost);
  const query = new URLSearchParams({
    heartbeat: String(HEARTBEAT_SECONDS),
    frameMax: String(FRAME_MAX_BYTES),
  });
  if (options.connectionName !== undefined) {
    query.set("name", options.connectionName);
  }
  return `${scheme}://${user}:${password}@${host}:${options.port}/${vhost}?${query}`;
}

/** Names the broker in logs and errors, without credentials. */
export function describeBroker(options: AmqpConnectionOptions): string {
  const scheme = options.useSsl ? "amqps" : "amqp";
  return `${scheme}://${options.host}:${options.port}/${
    encodeURIComponent(options.vhost)
  }`;
}

/**
 * Returns a function that opens a new connection and confirm channel each
 * time it is called. A broker certificate that fails verification rejects
 * with `TlsVerificationError`. Other connection errors reject with the
 * library's `AMQPError`, whose message names the cause but not the password.
 */
export function amqpChannelFactory(
  options: AmqpConnectionOptions,
): ConnectChannel {
  return async () => {
    const client = new AMQPClient(amqpUrl(options), options.tls);
    try {
      await client.connect();
    } catch (error) {
      if (!options.useSsl || !isCertificateError(error)) throw error;

      const reason = error instanceof Error ? error.message : String(error);
      throw new TlsVerificationError(
        describeBroker(options),
        "MQ_USE_SSL_CA",
        reason,
        { cause: error },
      );
    }
    try {
      const channel = await client.channel();
      await channel.confirmSelect();
      return wrapChannel(client, channel);
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
  };
}

type LibraryChannel = Awaited<ReturnType<AMQPClient["channel"]>>;

function wrapChannel(
  client: AMQPClient,
  channel: LibraryChannel,
): ConfirmChannel {
  // RabbitMQ sends basic.return before the confirm of a mandatory message
  // that no queue took, so a count that grew while a publish was awaited
  // means that publish (or one beside it) reached no queue.
  let returned = 0;
  channel.onReturn = () => void returned++;

  return {
    get closed() {
      return channel.closed || client.closed;
    },

    async publish(exchange, routingKey, body) {
      // Persistent, utf-8, no content type or headers, as pycti 6.9
      // publishes. Unlike pycti, mandatory is on: without it RabbitMQ
      // confirms a message it dropped because the push queue is gone.
      const before = returned;
      await channel.basicPublish(exchange, routingKey, body, {
        deliveryMode: 2,
        contentEncoding: "utf-8",
      }, true);
      if (returned > before) {
        throw new Error(
          `RabbitMQ returned a message as unroutable (312 NO_ROUTE): no queue is bound to exchange ${exchange} with routing key ${routingKey}`,
        );
      }
    },

    async close() {
      if (!channel.closed) await channel.close().catch(() => {});
      if (!client.closed) await client.close().catch(() => {});
    },
  };
}
