/** One Docker Engine event as `GET /events` streams it (moby's events.Message, with the legacy fields). */
export interface EngineEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
}

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon';

export type EventListener = (event: EngineEvent) => void;

export interface EventLogOptions {
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Events kept for `since` replays. */
  capacity?: number;
}

/**
 * The engine's event history and live fan-out. A ring buffer answers `docker events --since`; subscribers get
 * each event as it is emitted. Listener errors are contained so one bad stream cannot stop the others.
 */
export class EventLog {
  #now: () => number;
  #capacity: number;
  #buffer: EngineEvent[] = [];
  #listeners = new Set<EventListener>();
  /** Keeps timeNano strictly increasing when several events share a millisecond. */
  #lastNano = 0;

  constructor(options: EventLogOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#capacity = options.capacity ?? 2048;
  }

  emit(type: EventType, action: string, actor: { id: string; attributes?: Record<string, string> }): EngineEvent {
    const nano = Math.max(this.#now() * 1e6, this.#lastNano + 1000);
    this.#lastNano = nano;
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: actor.id, Attributes: { ...actor.attributes } },
      scope: 'local',
      time: Math.floor(nano / 1e9),
      timeNano: nano,
    };
    // moby keeps the pre-1.22 fields for container and image events; old scripts still read them.
    if (type === 'container' || type === 'image') {
      event.status = action;
      event.id = actor.id;
      if (actor.attributes?.image && type === 'container') event.from = actor.attributes.image;
    }
    this.#buffer.push(event);
    if (this.#buffer.length > this.#capacity) this.#buffer.splice(0, this.#buffer.length - this.#capacity);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // a failing subscriber (closed socket) must not break emitters
      }
    }
    return event;
  }

  /** Buffered events with `fromNano <= timeNano <= untilNano`. */
  history(fromNano: number, untilNano = Number.POSITIVE_INFINITY): EngineEvent[] {
    return this.#buffer.filter((e) => e.timeNano >= fromNano && e.timeNano <= untilNano);
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  nowNano(): number {
    return this.#now() * 1e6;
  }
}
