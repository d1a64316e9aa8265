import type { ActionSchema, Context } from 'moleculer';
import type { z } from 'zod';
import { authOf, requireRole, type AuthContext, type RelaisMeta, type Role } from './auth';
import { parseInput } from './validation';

export type RelaisContext<P = unknown> = Context<P, RelaisMeta>;

interface ActionSpec<S extends z.ZodType, R> {
  /** Validates ctx.params; the same schema documents the HTTP route. */
  input: S;
  /** Roles allowed to call; checked again here even though the gateway authenticated. */
  roles: readonly Role[];
  handler: (input: z.infer<S>, auth: AuthContext, ctx: RelaisContext<z.infer<S>>) => Promise<R> | R;
}

/** A thin action: validate, check the role, then hand over to domain code. */
export function defineAction<S extends z.ZodType, R>(spec: ActionSpec<S, R>): ActionSchema {
  return {
    async handler(ctx: RelaisContext) {
      const auth = authOf(ctx);
      requireRole(auth, spec.roles);
      const input = parseInput(spec.input, ctx.params ?? {});
      return spec.handler(input, auth, ctx as RelaisContext<z.infer<S>>);
    },
  };
}
