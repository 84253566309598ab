import {
  ApplicationCommandOptionType,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { z } from 'zod';
import type { CommandSpec } from '../commands/index.js';
import { NOTIFICATION_KINDS } from '../notify/index.js';

/** Discord's limits on application commands (https://discord.com/developers/docs/interactions/application-commands). */
const NAME_MAX = 32;
const DESCRIPTION_MAX = 100;
const OPTIONS_MAX = 25;
const CHOICES_MAX = 25;
const COMMANDS_MAX = 100;
const STRING_LENGTH_MAX = 6000;

/** The commands the bot adds to the registry's; a registry command of the same name wins. */
export const BOT_COMMANDS = { ask: 'ask', notify: 'notify', help: 'help' } as const;
/** `/ask text:`: the longest question accepted (the chat agent has its own limit too). */
export const ASK_MAX_CHARS = 4000;

export type SlashCommandJson = RESTPostAPIChatInputApplicationCommandsJSONBody;

/** What the slash commands are made from: a command's name, words and argument schema (whatever its services). */
export type SpecView = Pick<CommandSpec, 'name' | 'summary' | 'usage' | 'role' | 'args'>;
export interface SpecSource {
  readonly specs: readonly SpecView[];
}

/** One slash option and the key of the command's argument object it fills. */
export interface OptionBinding {
  readonly option: string;
  readonly key: string;
}

/** A registry command as a slash command: its Discord name, the spec it calls, its options. */
export interface SlashBinding {
  readonly command: string;
  readonly spec: string;
  readonly options: readonly OptionBinding[];
}

export interface SlashCommandSet {
  readonly json: readonly SlashCommandJson[];
  /** By Discord command name; only registry commands (not ask/notify/help). */
  readonly bindings: ReadonlyMap<string, SlashBinding>;
}

export interface BotCommandChoice {
  /** `/ask text:` to the chat agent. Default true. */
  readonly ask?: boolean;
  /** `/notify kind: on:`. Default true. */
  readonly notify?: boolean;
}

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** Discord names are lowercase `[-_a-z0-9]`, 1..32: `limitPrice` becomes `limit_price`. */
export function discordName(name: string): string {
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^-_a-z0-9]/g, '_');
  return (snake.length > 0 ? snake : '_').slice(0, NAME_MAX);
}

interface JsonProp {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JsonProp[];
  readonly description?: string;
  readonly default?: unknown;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
}

/** The first concrete alternative of a union (`nullable` and the like). */
function concrete(p: JsonProp): JsonProp {
  if (p.type !== undefined || p.enum !== undefined || !p.anyOf) return p;
  return p.anyOf.find((a) => a.type !== 'null') ?? p;
}

function typeOf(p: JsonProp): string | undefined {
  return Array.isArray(p.type)
    ? (p.type as readonly string[]).find((t) => t !== 'null')
    : (p.type as string | undefined);
}

/**
 * One option from a property of the argument schema (as JSON Schema of its INPUT, so defaults
 * and optionals are not required): string -> STRING (enum -> choices), number -> NUMBER,
 * integer -> INTEGER, boolean -> BOOLEAN; anything else is a STRING the router's zod schema
 * validates. Bounds are copied where Discord has them (its `min_value` is inclusive, so an
 * exclusive bound is left to the router).
 */
function optionFrom(
  name: string,
  key: string,
  raw: JsonProp,
  required: boolean,
  usage: string,
): APIApplicationCommandBasicOption {
  const p = concrete(raw);
  const hint = p.default !== undefined ? `; default ${JSON.stringify(p.default)}` : '';
  const description = clip(p.description ?? `${key}: ${usage}${hint}`, DESCRIPTION_MAX);
  const base = { name, description, required };
  const strings = p.enum?.every((v): v is string => typeof v === 'string') ? (p.enum as readonly string[]) : undefined;
  if (strings && strings.length > 0 && strings.length <= CHOICES_MAX) {
    return {
      ...base,
      type: ApplicationCommandOptionType.String,
      choices: strings.map((v) => ({ name: clip(v, 100), value: v })),
    };
  }
  const bounds = {
    ...(p.minimum !== undefined ? { min_value: p.minimum } : {}),
    ...(p.maximum !== undefined ? { max_value: p.maximum } : {}),
  };
  switch (typeOf(p)) {
    case 'number':
      return { ...base, type: ApplicationCommandOptionType.Number, ...bounds };
    case 'integer':
      return { ...base, type: ApplicationCommandOptionType.Integer, ...bounds };
    case 'boolean':
      return { ...base, type: ApplicationCommandOptionType.Boolean };
    default: {
      const lengths = {
        ...(p.minLength !== undefined && p.minLength <= STRING_LENGTH_MAX ? { min_length: p.minLength } : {}),
        ...(p.maxLength !== undefined && p.maxLength >= 1
          ? { max_length: Math.min(p.maxLength, STRING_LENGTH_MAX) }
          : {}),
      };
      return { ...base, type: ApplicationCommandOptionType.String, ...lengths };
    }
  }
}

/**
 * The argument object's properties as JSON Schema; an unmappable schema gives no options (the router still
 * validates).
 */
function propertiesOf(schema: z.ZodType): { props: Record<string, JsonProp>; required: ReadonlySet<string> } {
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, JsonProp>;
      required?: string[];
    };
    return { props: json.properties ?? {}, required: new Set(json.required ?? []) };
  } catch {
    return { props: {}, required: new Set() };
  }
}

function fromSpec(spec: SpecView, command: string): { json: SlashCommandJson; binding: SlashBinding } {
  const { props, required } = propertiesOf(spec.args);
  const options: APIApplicationCommandBasicOption[] = [];
  const bindings: OptionBinding[] = [];
  for (const [key, prop] of Object.entries(props)) {
    let option = discordName(key);
    while (bindings.some((b) => b.option === option)) option = `${option.slice(0, NAME_MAX - 1)}_`;
    options.push(optionFrom(option, key, prop, required.has(key), spec.usage));
    bindings.push({ option, key });
  }
  // Discord wants required options first; the order is otherwise the schema's.
  const ordered = [...options.filter((o) => o.required), ...options.filter((o) => !o.required)].slice(0, OPTIONS_MAX);
  return {
    json: { name: command, description: clip(spec.summary, DESCRIPTION_MAX), options: ordered },
    binding: { command, spec: spec.name, options: bindings.filter((b) => ordered.some((o) => o.name === b.option)) },
  };
}

/** The registry's commands as slash commands, with the bindings the bot needs to turn options back into arguments. */
export function slashCommandSet(router: SpecSource, extras: BotCommandChoice = {}): SlashCommandSet {
  const json: SlashCommandJson[] = [];
  const bindings = new Map<string, SlashBinding>();
  for (const spec of router.specs) {
    const command = discordName(spec.name);
    if (bindings.has(command)) continue; // two specs with one Discord name: the first keeps it
    const made = fromSpec(spec, command);
    json.push(made.json);
    bindings.set(command, made.binding);
  }
  const free = (name: string) => !bindings.has(name);
  if (free(BOT_COMMANDS.help))
    json.push({ name: BOT_COMMANDS.help, description: 'The commands you may use here.', options: [] });
  if (extras.ask !== false && free(BOT_COMMANDS.ask)) {
    json.push({
      name: BOT_COMMANDS.ask,
      description: 'Ask the assistant in your own words; orders it prepares still need your Confirm.',
      options: [
        {
          name: 'text',
          description: 'Your question or request',
          type: ApplicationCommandOptionType.String,
          required: true,
          max_length: ASK_MAX_CHARS,
        },
      ],
    });
  }
  if (extras.notify !== false && free(BOT_COMMANDS.notify)) {
    json.push({
      name: BOT_COMMANDS.notify,
      description: 'Switch a kind of notification in the notification channel on or off (resets on restart).',
      options: [
        {
          name: 'kind',
          description: 'Which notifications',
          type: ApplicationCommandOptionType.String,
          required: true,
          choices: [...NOTIFICATION_KINDS, 'all'].map((k) => ({ name: k, value: k })),
        },
        {
          name: 'on',
          description: 'On (true) or off (false)',
          type: ApplicationCommandOptionType.Boolean,
          required: true,
        },
      ],
    });
  }
  return { json: json.slice(0, COMMANDS_MAX), bindings };
}

/**
 * The registry's commands as Discord slash command JSON (for `PUT applications/:id/commands`),
 * options typed from each command's zod argument schema, plus `/help`, `/ask text:` and
 * `/notify kind: on:`. Aliases are not registered: Discord's picker already completes names.
 */
export function slashCommandsFrom(router: SpecSource, extras: BotCommandChoice = {}): SlashCommandJson[] {
  return [...slashCommandSet(router, extras).json];
}
