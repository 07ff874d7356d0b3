import { parsePolicyContent } from './content.ts';
import type { AgentPolicies, DecisionAgent } from './engine.ts';

/**
 * Whether a call to `tool` by `memberId` could be allowed under some circumstances (time, caller IP,
 * arguments). False only when the agent's policies rule it out whatever the circumstances: an
 * unconditional forbid applies, or policies target the service but no permit names this tool and member,
 * or no policy targets the service and the agent is untrusted. The proxy uses it to leave such tools out
 * of `tools/list`; it never decides a call.
 */
export function couldEverAllow(
  agentPolicies: Pick<AgentPolicies, 'policies'>,
  call: { agent: Pick<DecisionAgent, 'trustMode'>; memberId: string; service: string; tool: string },
): boolean {
  let targeted = false;
  let permitted = false;
  for (const policy of agentPolicies.policies) {
    if (!policy.enabled || policy.content?.service !== call.service) continue;
    targeted = true;
    const parsed = parsePolicyContent(policy.content);
    // An invalid forbid fails closed at decision time, but may not apply to this tool: keep the tool listed.
    if (!parsed.ok) continue;
    const content = parsed.value;
    const appliesToTool = content.tools.length === 0 || content.tools.includes(call.tool);
    const appliesToMember = content.principal.type === 'all_members' || content.principal.memberIds.includes(call.memberId);
    if (!appliesToTool || !appliesToMember) continue;
    if (content.effect === 'permit') permitted = true;
    else if (!content.timeWindow && !content.callerIps?.length && !content.conditions?.length) return false;
  }
  return targeted ? permitted : call.agent.trustMode === 'trusted';
}
