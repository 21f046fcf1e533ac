import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import draftCallAgenda from '@salesforce/apex/ClientCallPrepController.draftCallAgenda';
import suggestOpeningLine from '@salesforce/apex/ClientCallPrepController.suggestOpeningLine';
import NAME_FIELD from '@salesforce/schema/Contact.Name';
import MOBILE_FIELD from '@salesforce/schema/Contact.MobilePhone';
import DESCRIPTION_FIELD from '@salesforce/schema/Contact.Description';

const OCCASION = 'annual portfolio review';

export default class ClientCallPrep extends LightningElement {
    @api recordId;
    agenda;
    openingLine;
    error;

    @wire(getRecord, { recordId: '$recordId', fields: [NAME_FIELD, MOBILE_FIELD, DESCRIPTION_FIELD] })
    contact;

    get clientName() {
        return getFieldValue(this.contact.data, NAME_FIELD);
    }

    async handlePrepare() {
        try {
            this.agenda = await draftCallAgenda({
                clientName: this.clientName,
                mobilePhone: getFieldValue(this.contact.data, MOBILE_FIELD),
                lastMeetingNotes: getFieldValue(this.contact.data, DESCRIPTION_FIELD)
            });
            this.openingLine = await suggestOpeningLine({ occasion: OCCASION });
            this.error = undefined;
        } catch (e) {
            this.error = e.body ? e.body.message : e.message;
        }
    }
}
